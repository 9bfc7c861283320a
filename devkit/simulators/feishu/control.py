"""The Feishu simulator's control surface (``/feishu/_sim/...``) and its page.

What a person or a test uses to play the tenant's users and admin: save the event and card callback
URLs in the console (url_verification), add or remove the bot, rename or disband a group, press card
buttons, open the web app. None of it is a Feishu API, so errors here are ``{"ok": false, "error": ...}``.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from devkit.simulators.control import (
    ControlError,
    control_post,
    fault_route,
    page_routes,
    panel_fragment,
    permission_route,
)
from devkit.simulators.feishu.cards import button_values, check_card, overflow_options, update_multi
from devkit.simulators.feishu.gate import FeishuError
from devkit.simulators.feishu.messages import Message
from devkit.simulators.feishu.oauth import with_query
from devkit.simulators.feishu.push import envelope, post_legacy_card, push, verify_url
from devkit.simulators.feishu.tenant import Group, User
from devkit.simulators.http import Request, Route
from devkit.simulators.outbound import Delivery

if TYPE_CHECKING:
    from devkit.simulators.feishu.simulator import FeishuSimulator

PANEL_TEMPLATE = (Path(__file__).resolve().parent / "page.html").read_text(encoding="utf-8")
MOUNT_PATH = "/feishu"
GROUP_EVENTS = {"add-bot": "im.chat.member.bot.added_v1", "remove-bot": "im.chat.member.bot.deleted_v1",
                "disband": "im.chat.disbanded_v1", "rename": "im.chat.updated_v1"}
LEAVE_EVENT = "contact.user.deleted_v3"
# 员工离职 is delivered only to an app holding one of these (open.feishu.cn contact-v3/user/events/deleted).
LEAVE_SCOPES = {"contact:contact.base:readonly", "contact:contact:readonly_as_app", "contact:contact:access_as_app"}


TOASTS = '<p><b>提示 Toasts</b></p><div class="log" data-role="toasts"></div>'


def panel_html(base_path: str) -> str:
    """Self-contained fragment (markup, scoped CSS, script) talking to ``base_path/_sim``."""
    return panel_fragment(PANEL_TEMPLATE, "fs-sim", base_path, TOASTS)


def _http_url(body: dict[str, Any], name: str) -> str:
    url = str(body.get(name) or "")
    if not url.startswith(("http://", "https://")):
        raise ControlError(400, f"{name} must be an http(s) URL")
    return url


class ControlApi:
    """Routes under the simulator's mount that change or show its state on a person's behalf."""

    def __init__(self, sim: FeishuSimulator) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        return [
            *page_routes("飞书模拟器 Feishu simulator", panel_html(MOUNT_PATH), self.sim.state),
            control_post(r"/_sim/console/(?P<kind>event-url|card-url)", self.save_url),
            control_post(r"/_sim/console/redirect-url", self.add_redirect_url),
            permission_route(self.sim.app.scopes, self.sim.lock),
            control_post(r"/_sim/groups/(?P<cid>[^/]+)/(?P<action>add-bot|remove-bot|disband|rename)",
                         self.group_action),
            control_post(r"/_sim/users/(?P<uid>[^/]+)/leave", self.leave),
            control_post(r"/_sim/click", self.click),
            control_post(r"/_sim/open-app", self.open_app),
            fault_route(self.sim.inject),
        ]

    def save_url(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """The console's save of 事件/回调 请求地址: url_verification first, keep the URL only if it passed."""
        sim, url = self.sim, str(body.get("url") or "")
        if not url.startswith(("http://", "https://")):
            return {"ok": False, "error": "请输入合法的 URL (not an http(s) URL)"}
        delivery = verify_url(url, sim.app, sim.now(), timeout=sim.outbound_timeout)
        sim.log("delivery", delivery.public())
        if not delivery.ok:
            reason = delivery.error or f"timeout: replied after {delivery.latency_ms} ms (limit 1000 ms)"
            return {"ok": False, "error": f"Challenge code 校验失败: {reason}", "delivery": delivery.public()}
        with sim.lock:
            setattr(sim, "event_url" if request.params["kind"] == "event-url" else "card_url", url)
        return {"ok": True, "url": url, "delivery": delivery.public()}

    def add_redirect_url(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """安全设置 → 重定向 URL: the OAuth redirect URLs the authorize page accepts."""
        url = _http_url(body, "url")
        with self.sim.lock:
            if url not in self.sim.app.redirect_urls:
                self.sim.app.redirect_urls.append(url)
            return {"ok": True, "redirectUrls": list(self.sim.app.redirect_urls)}

    def group_action(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        sim, action = self.sim, request.params["action"]
        with sim.lock:
            group = sim.directory.groups.get(request.params["cid"])
            if group is None or group.dissolved:
                raise ControlError(404, f"no live group {request.params['cid']}")
            operator = sim.directory.person(str(body.get("operator") or group.owner))
            if operator is None or operator.open_id not in group.members:
                raise ControlError(400, "operator must be a member of the group")
            reaches_app = group.bot_in_chat or action == "add-bot"
            event = self._change_group(group, operator, action, body)
            payload = envelope(sim.app, GROUP_EVENTS[action], event, sim.now())
            url, view = sim.event_url, group.public()
        return {**self._push_to(url if reaches_app else None, payload), "group": view}

    def leave(self, request: Request, _body: dict[str, Any]) -> dict[str, Any]:
        """The admin offboards a person (员工离职): resigned, out of every group, so messages to them fail
        with Feishu's 230029; an app subscribed with a contact permission gets contact.user.deleted_v3."""
        sim = self.sim
        with sim.lock:
            user = sim.directory.person(request.params["uid"])
            if user is None or user.resigned:
                raise ControlError(404, f"no current user {request.params['uid']}")
            user.resigned = True
            for group in sim.directory.groups.values():
                group.members = [open_id for open_id in group.members if open_id != user.open_id]
            status = {"is_frozen": False, "is_resigned": True, "is_activated": False, "is_exited": False}
            event = {"object": {**user.ids(), "name": user.name, "en_name": user.en_name, "status": status},
                     "old_object": user.ids()}
            payload = envelope(sim.app, LEAVE_EVENT, event, sim.now())
            url = sim.event_url if LEAVE_SCOPES & sim.app.scopes else None
        return {**self._push_to(url, payload), "user": user.public()}

    def _push_to(self, url: str | None, payload: dict[str, Any]) -> dict[str, Any]:
        """Push ``payload`` to the event URL when the app is to get it; what happened, for the page."""
        if url is None:
            return {"ok": True, "pushed": False}
        delivery = push(url, self.sim.app, payload, self.sim.now(), timeout=self.sim.outbound_timeout)
        self.sim.log("delivery", delivery.public())
        return {"ok": delivery.ok, "pushed": True, "status": delivery.status, "body": delivery.body,
                "event": payload, "delivery": delivery.public()}

    def click(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """A user pressing a card button: the callback goes out, a timely reply updates the card."""
        sim, flavour = self.sim, body.get("flavour", "v2")
        with sim.lock:
            message, user = self._clicked(body)
            if sim.card_url is None:
                raise ControlError(409, "no card callback URL saved in the console")
            now = sim.now()
            token = sim.messages.mint_update_token(message, user.open_id, now)
            action = {"value": body["value"], "tag": "overflow", "option": body["option"]} if "option" in body \
                else {"value": body["value"], "tag": "button"}
            payload = self._click_payload(flavour, message, user, action, token, now)
        send = post_legacy_card if flavour == "v1" else push
        delivery = send(sim.card_url, sim.app, payload, now, timeout=sim.outbound_timeout)
        sim.log("delivery", delivery.public())
        with sim.lock:
            ignored = self._apply_reply(message, user, delivery, flavour, now)
        return {"ok": delivery.ok, "status": delivery.status, "body": delivery.body, "applied": ignored is None,
                "ignored": ignored, "late": delivery.late, "token": token, "delivery": delivery.public()}

    def open_app(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """What the client does when a user opens the web app from 工作台: load web_home as that user."""
        url = _http_url(body, "url")
        with self.sim.lock:
            user = self.sim.directory.person(str(body.get("open_id") or ""))
            if user is None:
                raise ControlError(404, f"no user {body.get('open_id')}")
            self.sim.oauth.consent_user = user.open_id
        return {"ok": True, "url": with_query(url, {"sim_user": user.open_id}), "openId": user.open_id}

    def _clicked(self, body: dict[str, Any]) -> tuple[Message, User]:
        message = self.sim.messages.messages.get(str(body.get("message_id")))
        user = self.sim.directory.person(str(body.get("open_id") or ""))
        if message is None or user is None or message.msg_type != "interactive":
            raise ControlError(404, "unknown card message_id or open_id")
        if not self._can_see(message, user):
            raise ControlError(403, f"{user.key} cannot see {message.message_id}")
        if body.get("flavour", "v2") not in ("v1", "v2"):
            raise ControlError(400, 'flavour is "v2" (card.action.trigger) or "v1" (legacy card URL)')
        view = message.views.get(user.open_id, message.content)
        if "option" in body:  # a pick from an overflow menu
            allowed = [value for value, option in overflow_options(view) if option == body["option"]]
        else:
            allowed = button_values(view)
        if body.get("value") not in allowed:
            raise ControlError(400, "the card has no button or menu option with that value")
        return message, user

    def _click_payload(self, flavour: str, message: Message, user: User, action: dict[str, Any], token: str,
                       now: float) -> dict[str, Any]:
        app = self.sim.app
        if flavour == "v1":
            return {"open_id": user.open_id, "user_id": user.user_id, "open_message_id": message.message_id,
                    "open_chat_id": message.chat_id, "tenant_key": app.tenant_key, "token": token,
                    "action": action}
        event = {"operator": {"tenant_key": app.tenant_key, **user.ids()}, "token": token,
                 "action": action, "host": "im_message",
                 "context": {"open_message_id": message.message_id, "open_chat_id": message.chat_id}}
        return envelope(app, "card.action.trigger", event, now)

    def _apply_reply(self, message: Message, user: User, delivery: Delivery, flavour: str, now: float) -> str | None:
        """Apply a callback reply; returns why it was ignored, or None."""
        if not delivery.ok:
            return delivery.error or f"late reply ({delivery.latency_ms} ms > 3000 ms), card unchanged"
        reply = delivery.body if isinstance(delivery.body, dict) else {}
        if isinstance(reply.get("toast"), dict):
            self.sim.toasts.append({"at": now, "openId": user.open_id, "messageId": message.message_id,
                                    "toast": reply["toast"]})
        card = self._reply_card(reply, flavour)
        if card is None:
            return None
        try:
            check_card(card)
        except FeishuError as exc:
            return f"reply card refused: {exc.reason}"
        target = None if update_multi(message.content) else user.open_id
        self.sim.messages.apply(message, card, target, f"callback_{flavour}", now)
        return None

    @staticmethod
    def _reply_card(reply: dict[str, Any], flavour: str) -> Any:
        if flavour == "v1":  # the legacy reply is the card itself
            return reply if {"elements", "i18n_elements", "header", "schema"} & set(reply) else None
        card = reply.get("card")
        if not isinstance(card, dict):
            return None
        return card.get("data") if card.get("type") == "raw" else {"type": card.get("type")}

    def _change_group(self, group: Group, operator: User, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """Apply the change and build the event's ``event`` part (fields per the im.chat event docs)."""
        event: dict[str, Any] = {"chat_id": group.chat_id, "operator_id": operator.ids(), "external": False,
                                 "operator_tenant_key": self.sim.app.tenant_key}
        if action == "rename":
            name = str(body.get("name") or "").strip()
            if not name:
                raise ControlError(400, "name is required")
            before, group.name = group.name, name
            return {**event, "after_change": {"name": name}, "before_change": {"name": before},
                    "moderator_list": {"added_member_list": [], "removed_member_list": []}}
        group.bot_in_chat = action == "add-bot"
        group.dissolved = action == "disband"
        return {**event, "name": group.name, "i18n_names": {"zh_cn": group.name, "en_us": group.name,
                                                            "ja_jp": group.name}}

    def _can_see(self, message: Message, user: User) -> bool:
        kind, _, key = message.space.partition(":")
        if kind == "p2p":
            return key == user.open_id
        group = self.sim.directory.groups.get(key)
        return group is not None and user.open_id in group.members
