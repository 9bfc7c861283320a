"""App messages: ``message/send`` to members, ``message/update_template_card``, and each member's conversation
with the app (what the app sent, what the member typed).

A send names members (``touser`` ``a|b`` or ``@all``), departments and tags; the simulated corp has no
departments or tags, so those always come back invalid. Members without a licence are listed in
``unlicenseduser`` and get nothing; messages over a member's per-app window are dropped silently (errcode 0)
and recorded in ``drops``. Callers hold the simulator lock.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from devkit.simulators.wecom.cards import INTERACTIVE, TASK_ID_REFUSED, ResponseCodes, check_card, is_callback_card
from devkit.simulators.wecom.corp import Corp, Directory, User
from devkit.simulators.wecom.gate import Limits, WeComError, invalid_parameter

APP_TYPES = ("text", "markdown", "textcard", "template_card", "image", "voice", "video", "file", "news", "mpnews",
             "miniprogram_notice")
MAX_TEXT_BYTES = 2048


@dataclass
class Message:
    msgid: str
    space: str  # "user:<userid>" (the member's chat with the app) or "chat:<chatid>"
    sender: str  # "app" or the member's userid
    msgtype: str
    content: dict[str, Any]  # the msgtype's object, e.g. {"content": "..."} or the template card
    sent_at: float
    replace_name: str = ""  # after a button update: the buttons are greyed and show this text
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def task_id(self) -> str:
        return str(self.content.get("task_id") or "") if self.msgtype == "template_card" else ""

    def public(self) -> dict[str, Any]:
        return {"msgid": self.msgid, "space": self.space, "sender": self.sender, "msgtype": self.msgtype,
                "content": self.content, "sentAt": self.sent_at, "taskId": self.task_id,
                "replaceName": self.replace_name, "updates": list(self.history)}


def new_msgid() -> str:
    return secrets.token_urlsafe(48)


def message_payload(body: dict[str, Any], allowed: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """The msgtype and its object, checked the way WeCom checks them."""
    msgtype = body.get("msgtype")
    if msgtype not in allowed:
        raise WeComError(40008, "invalid message type", f"msgtype {msgtype!r} is not one of {allowed}")
    payload = body.get(msgtype)
    if msgtype == "template_card":
        return msgtype, check_card(payload)
    if not isinstance(payload, dict):
        raise invalid_parameter(f"{msgtype} is required")
    if msgtype in ("text", "markdown"):
        content = str(payload.get("content") or "")
        if not content:
            raise WeComError(44004, "empty content", f"{msgtype}.content is empty")
        if len(content.encode("utf-8")) > MAX_TEXT_BYTES:
            raise WeComError(45002, "content size out of limit", f"{msgtype}.content over {MAX_TEXT_BYTES} bytes")
    if msgtype == "textcard" and not payload.get("description"):
        raise WeComError(41033, "missing description", "textcard.description is required")
    return msgtype, payload


def check_agent(corp: Corp, body: dict[str, Any]) -> None:
    agentid = body.get("agentid")
    if agentid in (None, ""):
        raise WeComError(41011, "missing agentid", "agentid is required")
    if str(agentid) != corp.agent_id:
        raise WeComError(40056, "invalid agentid", f"agentid {agentid} is not this app ({corp.agent_id})")


class Messages:
    """What the app sent to members and what members sent the app."""

    def __init__(self, corp: Corp, directory: Directory, limits: Limits) -> None:
        self.corp, self.directory, self.limits = corp, directory, limits
        self.spaces: dict[str, list[Message]] = {}
        self.cards: dict[tuple[str, str], Message] = {}  # (userid, task_id) -> that member's card
        self.task_ids: set[str] = set()
        self.codes = ResponseCodes()
        self.drops: list[dict[str, Any]] = []

    def store(self, message: Message) -> Message:
        self.spaces.setdefault(message.space, []).append(message)
        return message

    def send(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        """``POST /cgi-bin/message/send``."""
        msgtype, payload = self.checked(body)
        users, invalid, parties, tags = self._recipients(body)
        callback_card = msgtype == "template_card" and is_callback_card(payload)
        if not users:
            raise WeComError(81013, "user & party & tag all invalid", "no valid recipient",
                             invaliduser="|".join(invalid), invalidparty="|".join(parties), invalidtag="|".join(tags))
        msgid = new_msgid()
        for user in users:
            if user.licensed:
                self._deliver(user, msgid, msgtype, payload, now)
        answer = {"invaliduser": "|".join(invalid), "invalidparty": "|".join(parties), "invalidtag": "|".join(tags),
                  "unlicenseduser": "|".join(u.userid for u in users if not u.licensed), "msgid": msgid}
        if callback_card:
            self.task_ids.add(payload["task_id"])
            answer["response_code"] = self.codes.mint(payload["task_id"], "send", now)
        return answer

    def checked(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """A send body's agent and message checked as ``send`` checks them (a preview stops here)."""
        check_agent(self.corp, body)
        msgtype, payload = message_payload(body, APP_TYPES)
        callback_card = msgtype == "template_card" and is_callback_card(payload)
        if callback_card and self.corp.callback_url is None:
            raise WeComError(43012, "app need to set callback url", "callback cards need 接收消息 configured")
        if callback_card and payload["task_id"] in self.task_ids:
            raise WeComError(42014, TASK_ID_REFUSED, f"task_id {payload['task_id']} was used before")
        return msgtype, payload

    def _recipients(self, body: dict[str, Any]) -> tuple[list[User], list[str], list[str], list[str]]:
        """Valid members, then the invalid userids, departments and tags."""
        named, parties, tags = (_ids(body.get(k)) for k in ("touser", "toparty", "totag"))
        if not (named or parties or tags):
            raise WeComError(82001, "user & party & tag all empty", "touser, toparty and totag are all empty")
        if named == ["@all"]:
            return list(self.directory.users.values()), [], [], []
        users = [self.directory.users[n] for n in dict.fromkeys(named) if n in self.directory.users]
        return users, [n for n in named if n not in self.directory.users], parties, tags

    def _deliver(self, user: User, msgid: str, msgtype: str, payload: dict[str, Any], now: float) -> None:
        dropped = self.limits.member_drop(user.userid, now)
        if dropped:
            self.drops.append({"at": now, "userid": user.userid, "msgid": msgid, "msgtype": msgtype,
                               "reason": dropped})
            return
        message = self.store(Message(msgid, f"user:{user.userid}", "app", msgtype, dict(payload), now))
        if msgtype == "template_card" and message.task_id:
            self.cards[(user.userid, message.task_id)] = message

    def update_card(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        """``POST /cgi-bin/message/update_template_card``: spends the response code on the named cards."""
        check_agent(self.corp, body)
        code = self.codes.take(str(body.get("response_code") or ""), now)
        kind, value = _update_of(body, code.task_id)
        cards, invalid = self._cards_to_update(body, code.task_id)
        if not cards:
            raise WeComError(81013, "user & party & tag all invalid", "none of them has this task's card",
                             invaliduser=invalid)
        if kind == "button" and any(c.content.get("card_type") not in INTERACTIVE for c in cards):
            raise invalid_parameter("button can only be updated on button/vote/multiple interaction cards")
        code.used_at = now
        for card in cards:
            self.apply(card, kind, value, "api", now)
        return {"invaliduser": invalid}

    def _cards_to_update(self, body: dict[str, Any], task_id: str) -> tuple[list[Message], list[str]]:
        if body.get("atall") == 1:
            return [m for (_, task), m in self.cards.items() if task == task_id], []
        userids = [str(u) for u in body.get("userids") or []]
        if not (userids or body.get("partyids") or body.get("tagids")):
            raise WeComError(81012, "no visible range", "userids, partyids and tagids are all empty")
        cards = [self.cards[(u, task_id)] for u in userids if (u, task_id) in self.cards]
        return cards, [u for u in userids if (u, task_id) not in self.cards]

    def apply(self, card: Message, kind: str, value: Any, via: str, now: float) -> None:
        """A button update greys the buttons with new text; a card update replaces the card (same task)."""
        if kind == "button":
            card.replace_name = str(value)
        else:
            card.content, card.replace_name = {**value, "task_id": card.task_id}, ""
        card.history.append({"at": now, "via": via, "kind": kind, "value": value})

    def received(self, user: User, content: str, now: float) -> Message:
        """A member typed into their chat with the app."""
        msgid = str(secrets.randbits(63))
        return self.store(Message(msgid, f"user:{user.userid}", user.userid, "text", {"content": content}, now))

    def public(self, now: float) -> dict[str, Any]:
        spaces = {space: [{**m.public(), "updateBudget": self.codes.budget(m.task_id, now) if m.task_id else None}
                          for m in messages] for space, messages in self.spaces.items()}
        return {"spaces": spaces, "drops": list(self.drops),
                "responseCodes": [c.public(now) for c in self.codes.codes.values()]}


def _ids(value: Any) -> list[str]:
    return [part for part in str(value or "").split("|") if part]


def _update_of(body: dict[str, Any], task_id: str) -> tuple[str, Any]:
    """The update asked for; a new card keeps the task (the response code names it)."""
    if isinstance(body.get("button"), dict):
        replace_name = str(body["button"].get("replace_name") or "")
        if not replace_name:
            raise invalid_parameter("button.replace_name is required")
        return "button", replace_name
    if isinstance(body.get("template_card"), dict):
        return "template_card", check_card({"task_id": task_id, **body["template_card"]})
    raise invalid_parameter("button or template_card is required")
