"""Card messages: send (im/v1/messages), update by id (PATCH), and the delayed update by click token.

Follows open.feishu.cn "发送消息", "更新应用发送的消息卡片" and "延时更新消息卡片": every refusal is HTTP 400
with Feishu's code. ``uuid`` makes a send idempotent for an hour; PATCH needs a shared card
(``config.update_multi``) before and after, at most 14 days old; a click token (``c-…``) lives 30 minutes.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from devkit.simulators.feishu.cards import check_card, parse_card_content, too_long, update_multi
from devkit.simulators.feishu.gate import FeishuError, Limits, api_error, field_violation, invalid_param
from devkit.simulators.feishu.tenant import App, Directory

RECEIVE_ID_TYPES = ("open_id", "user_id", "union_id", "email", "chat_id")
MAX_BODY_BYTES = 30 * 1024
UUID_TTL, MAX_UUID = 3600, 50
PATCH_WINDOW = 14 * 86400
UPDATE_TOKEN_TTL = 1800


@dataclass
class Message:
    message_id: str
    chat_id: str
    space: str  # "p2p:<open_id>" or "chat:<chat_id>", how the page groups messages
    msg_type: str
    content: dict[str, Any]  # the card (or {"text": ...})
    created_at: float
    updated_at: float
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # open_id -> card only that user sees
    history: list[dict[str, Any]] = field(default_factory=list)

    def data(self, app: App) -> dict[str, Any]:
        """The ``data`` of a send response."""
        return {"message_id": self.message_id, "msg_type": self.msg_type,
                "create_time": str(int(self.created_at * 1000)), "update_time": str(int(self.updated_at * 1000)),
                "deleted": False, "updated": bool(self.history),
                "chat_id": self.chat_id, "body": {"content": json.dumps(self.content, ensure_ascii=False)},
                "sender": {"id": app.app_id, "id_type": "app_id", "sender_type": "app", "tenant_key": app.tenant_key}}

    def public(self) -> dict[str, Any]:
        return {"messageId": self.message_id, "chatId": self.chat_id, "space": self.space, "msgType": self.msg_type,
                "content": self.content, "updateMulti": update_multi(self.content), "views": dict(self.views),
                "createdAt": self.created_at, "updateCount": len(self.history), "history": list(self.history)}


@dataclass
class UpdateToken:
    message_id: str
    open_id: str
    expires_at: float
    uses: int = 0


class Messages:
    """Messages the app's bot sent in this tenant. Callers hold the simulator lock."""

    def __init__(self, app: App, directory: Directory, limits: Limits) -> None:
        self.app, self.directory, self.limits = app, directory, limits
        self.messages: dict[str, Message] = {}
        self.by_uuid: dict[str, tuple[str, float]] = {}  # uuid -> (message_id, sent at)
        self.update_tokens: dict[str, UpdateToken] = {}

    def send(self, query: dict[str, str], body: dict[str, Any], size: int, now: float) -> dict[str, Any]:
        id_type, receive_id, msg_type, uuid = self._send_fields(query, body)
        earlier = self.by_uuid.get(uuid) if uuid else None
        if earlier and now - earlier[1] < UUID_TTL:
            return self.messages[earlier[0]].data(self.app)
        if size > MAX_BODY_BYTES:
            raise too_long()
        content = self._content(msg_type, body.get("content"))
        chat_id, space = self._receiver(id_type, receive_id)
        self.limits.check_receiver(space, now)
        message = Message("om_" + secrets.token_hex(16), chat_id, space, msg_type, content, now, now)
        self.messages[message.message_id] = message
        if uuid:
            self.by_uuid[uuid] = (message.message_id, now)
        return message.data(self.app)

    def preview(self, body: dict[str, Any], to: str, size: int, now: float) -> dict[str, Any]:
        """A send body checked as ``send`` checks it, short of its receiver and uuid (the call's, not the
        card's): the message as a chat would show it; nothing is sent."""
        _, _, msg_type, _ = self._send_fields({"receive_id_type": "chat_id" if to == "chat" else "open_id"}, body)
        if size > MAX_BODY_BYTES:
            raise too_long()
        content = self._content(msg_type, body["content"])
        return Message("preview", "", "preview", msg_type, content, now, now).public()

    def patch(self, message_id: str, body: dict[str, Any], size: int, now: float) -> dict[str, Any]:
        message = self.messages.get(message_id)
        if message is None:
            raise invalid_param("invalid message_id")
        if message.msg_type != "interactive":
            raise invalid_param("This message is NOT a card")
        if now - message.created_at > PATCH_WINDOW:
            raise api_error(230031, "Message can only be modified within 14 days after sending.", "older than 14 days")
        self.limits.check_message(message_id, now)
        if size > MAX_BODY_BYTES:
            raise too_long()
        card = parse_card_content(body.get("content"))
        if not update_multi(message.content) or not update_multi(card):
            raise invalid_param("only shared cards can be updated: config.update_multi must be true before and after")
        self.apply(message, card, None, "patch", now)
        return {}

    def delayed_update(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        token = self._update_token(body.get("token"), now)
        card = body.get("card")
        if not isinstance(card, dict):
            raise api_error(10002, "card参数校验错误：card is required", "card missing")
        if len(json.dumps(card, ensure_ascii=False).encode("utf-8")) > MAX_BODY_BYTES:
            raise api_error(100000, "卡片内容转换后超过限制", "card over 30 KB")
        open_ids = card.pop("open_ids", None)
        try:
            check_card(card)
        except FeishuError as exc:
            raise api_error(11311, f"卡片格式不符合要求: {exc.reason}", exc.reason) from exc
        message = self.messages[token.message_id]
        if not update_multi(message.content) and not open_ids:
            raise api_error(300090, "非共享卡片需填写open_ids字段", "exclusive card and no open_ids")
        token.uses += 1
        for open_id in (open_ids if not update_multi(message.content) else [None]):
            self.apply(message, card, open_id, "delayed_update", now)
        return {}

    def mint_update_token(self, message: Message, open_id: str, now: float) -> str:
        token = "c-" + secrets.token_hex(20)
        self.update_tokens[token] = UpdateToken(message.message_id, open_id, now + UPDATE_TOKEN_TTL)
        return token

    def apply(self, message: Message, card: dict[str, Any], open_id: str | None, source: str, now: float) -> None:
        """Replace the card for everyone, or only in ``open_id``'s view."""
        if open_id is None:
            message.content, message.views = card, {}
        else:
            message.views[open_id] = card
        message.updated_at = now
        message.history.append({"at": now, "source": source, "openId": open_id})

    def by_space(self) -> dict[str, list[dict[str, Any]]]:
        spaces: dict[str, list[dict[str, Any]]] = {}
        for message in self.messages.values():
            spaces.setdefault(message.space, []).append(message.public())
        return spaces

    def _send_fields(self, query: dict[str, str], body: dict[str, Any]) -> tuple[str, str, str, str]:
        id_type = query.get("receive_id_type", "")
        if id_type not in RECEIVE_ID_TYPES:
            raise field_violation("receive_id_type", f"receive_id_type must be one of {', '.join(RECEIVE_ID_TYPES)}")
        for name in ("receive_id", "msg_type", "content"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise field_violation(name, f"{name} is required")
        uuid = body.get("uuid") or ""
        if not isinstance(uuid, str) or len(uuid) > MAX_UUID:
            raise field_violation("uuid", f"uuid is a string of at most {MAX_UUID} characters")
        return id_type, body["receive_id"], body["msg_type"], uuid

    def _content(self, msg_type: str, content: str) -> dict[str, Any]:
        if msg_type == "interactive":
            return parse_card_content(content)
        if msg_type != "text":
            raise invalid_param(f"msg_type {msg_type} is not simulated (interactive and text are)")
        try:
            text = json.loads(content)
        except json.JSONDecodeError as exc:
            raise invalid_param("content is not valid JSON") from exc
        if not isinstance(text, dict) or not isinstance(text.get("text"), str):
            raise invalid_param("text content needs a text field")
        return text

    def _receiver(self, id_type: str, receive_id: str) -> tuple[str, str]:
        """(chat id, space) of a valid receiver; Feishu's refusal otherwise."""
        if id_type == "chat_id":
            group = self.directory.groups.get(receive_id)
            if group is None:
                raise invalid_param("invalid receive_id")
            if group.dissolved:
                raise api_error(232009, "Your request specifies a chat which has already been dissolved.", "dissolved")
            if not group.bot_in_chat:
                raise api_error(230002, "The bot can not be outside the group.", f"bot not in {group.name}")
            return group.chat_id, f"chat:{group.chat_id}"
        user = self.directory.user(receive_id, id_type)
        if user is None:
            raise invalid_param("invalid receive_id")
        if user.resigned:
            raise api_error(230029, "User has resigned.", f"{user.key} resigned")
        if not user.in_scope:
            raise api_error(230013, "Bot has NO availability to this user.", f"{user.key} outside availability")
        return self.directory.p2p_chat_id(user), f"p2p:{user.open_id}"

    def _update_token(self, value: Any, now: float) -> UpdateToken:
        if not isinstance(value, str) or not value.startswith("c-"):
            raise api_error(300020, "更新卡片token格式错误", "token is not c-…")
        token = self.update_tokens.get(value)
        if token is None or token.expires_at <= now:
            raise api_error(300030, "更新卡片token失效", "unknown or expired update token")
        if token.uses >= self.limits.delayed_update_uses:
            raise api_error(300040, "更新卡片token使用超过限制次数", f"token used {token.uses} times")
        return token
