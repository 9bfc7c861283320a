"""The simulator's own control surface (``/dingtalk/_sim/...``), its page and the JSAPI shim.

This is what a person or a test uses to play DingTalk's users and admin: save the event URL in the
console (check_url handshake), install the cool app, rename a group, press card buttons, open the app
from 工作台. None of it is a DingTalk API, so errors here are plain ``{"ok": false, "error": ...}``.
"""
from __future__ import annotations

import json
import uuid
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
from devkit.simulators.dingtalk.org import Group, User
from devkit.simulators.dingtalk.push import Delivery, post_card_callback, push_event
from devkit.simulators.http import Request, Route, text_response

if TYPE_CHECKING:
    from devkit.simulators.dingtalk.simulator import DingTalkSimulator

ASSETS = Path(__file__).resolve().parent
PANEL_TEMPLATE = (ASSETS / "page.html").read_text(encoding="utf-8")
JSAPI_SHIM = (ASSETS / "jsapi.js").read_text(encoding="utf-8")
MAX_TITLE = 30
MOUNT_PATH = "/dingtalk"


def panel_html(base_path: str) -> str:
    """Self-contained fragment (markup, scoped CSS, script) talking to ``base_path/_sim``."""
    return panel_fragment(PANEL_TEMPLATE, "dt-sim", base_path)


class ControlApi:
    """Routes under the simulator's mount that change or show its state on a person's behalf."""

    def __init__(self, sim: DingTalkSimulator) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        return [
            *page_routes("钉钉模拟器 DingTalk simulator", panel_html(MOUNT_PATH), self.state),
            Route("GET", r"/jsapi\.js",
                  lambda r: text_response(200, JSAPI_SHIM, "application/javascript;charset=utf-8")),
            control_post(r"/_sim/console/event-url", self.save_event_url),
            permission_route(self.sim.org.permissions, self.sim.lock),
            control_post(r"/_sim/groups/(?P<cid>[^/]+)/(?P<action>install-cool-app|uninstall-cool-app|rename)",
                       self.group_action),
            control_post(r"/_sim/users/(?P<uid>[^/]+)/leave", self.leave),
            control_post(r"/_sim/click", self.click),
            control_post(r"/_sim/open-app", self.open_app),
            fault_route(self.sim.inject),
        ]

    def state(self) -> dict[str, Any]:
        sim = self.sim
        with sim.lock:
            return {
                "org": sim.org.public(), "apiBase": sim.api_base, "oapiBase": sim.oapi_base,
                "eventUrl": sim.event_url, "now": sim.now(),
                "users": [u.public() for u in sim.directory.users.values()],
                "groups": [g.public() for g in sim.directory.groups.values()],
                "templates": {tid: t.public() for tid, t in sim.cards.templates.items()},
                "callbacks": {k: dict(v) for k, v in sim.cards.callbacks.items()},
                "cards": sim.cards.by_space(), "robots": sim.robots.robots.public(), "media": sim.media.view(),
                "previews": sim.previews.public(),
                "faults": sim.faults.public(),
                "deliveries": list(sim.journal.deliveries), "rejections": list(sim.journal.rejections),
                "calls": dict(sim.calls), **sim.limits.public(),
            }

    def save_event_url(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """The console's 事件订阅 save: check_url handshake, then keep the URL only if it passed."""
        url = str(body.get("url") or "")
        if not url.startswith(("http://", "https://")):
            return {"ok": False, "errcode": 71011, "errmsg": "传入的url参数不是合法的url格式"}
        delivery = self._push(url, {"EventType": "check_url"})
        if delivery.status is None or delivery.late:
            reason = delivery.error or f"timeout: replied after {delivery.latency_ms} ms"
            return {"ok": False, "errcode": 71012, "errmsg": f"url地址访问异常,错误原因为:{reason}",
                    "delivery": delivery.public()}
        if delivery.error:
            return {"ok": False, "errcode": 71009, "errmsg": "返回文本非success", "reason": delivery.error,
                    "delivery": delivery.public()}
        with self.sim.lock:
            self.sim.event_url = url
        return {"ok": True, "eventUrl": url, "delivery": delivery.public()}

    def group_action(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        sim, action = self.sim, request.params["action"]
        with sim.lock:
            group = sim.directory.groups.get(request.params["cid"])
            if group is None:
                raise ControlError(404, f"no group {request.params['cid']}")
            operator = sim.directory.users.get(str(body.get("operator") or group.owner))
            if operator is None or operator.userid not in group.members:
                raise ControlError(400, "operator must be a member of the group")
            payload = self._change_group(group, operator, action, body)
            url, view = sim.event_url, group.public()
        return {**self._push_to(url, payload), "group": view}

    def leave(self, request: Request, _body: dict[str, Any]) -> dict[str, Any]:
        """The admin offboards a person (通讯录 → 离职): they are gone from the org and its groups, so sends
        to them fail as DingTalk's do, and the app subscribed to user_leave_org gets the push."""
        sim = self.sim
        with sim.lock:
            user = sim.directory.users.pop(request.params["uid"], None)
            if user is None:
                raise ControlError(404, f"no user {request.params['uid']}")
            for group in sim.directory.groups.values():
                group.members = [userid for userid in group.members if userid != user.userid]
            now_ms = int(sim.now() * 1000)
            payload = {"EventType": "user_leave_org", **self._common(now_ms), "TimeStamp": str(now_ms),
                       "UserId": [user.userid]}
            url = sim.event_url
        return {**self._push_to(url, payload), "user": user.public()}

    def _push_to(self, url: str | None, payload: dict[str, Any]) -> dict[str, Any]:
        """Push ``payload`` to the subscribed event URL, if one was saved; what happened, for the page."""
        if url is None:
            return {"ok": True, "pushed": False}
        delivery = self._push(url, payload)
        return {"ok": delivery.ok, "pushed": True, "status": delivery.status, "body": delivery.body,
                "event": payload, "delivery": delivery.public()}

    def click(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """A user pressing a card button: signed actionCallback, then the reply updates the card."""
        sim = self.sim
        with sim.lock:
            card = sim.cards.cards.get(str(body.get("outTrackId")))
            user = sim.directory.users.get(str(body.get("userId")))
            if card is None or user is None:
                raise ControlError(404, "unknown outTrackId or userId")
            if not self._can_see(card.spaces, user):
                raise ControlError(403, f"{user.userid} cannot see card {card.out_track_id}")
            route = sim.cards.callbacks.get(card.route_key or "")
            if card.callback_type != "HTTP" or route is None:
                raise ControlError(409, f"card callbackType is {card.callback_type}, no HTTP callback route to call")
            content = {"cardPrivateData": {"actionIds": [str(body.get("actionId"))],
                                           "params": body.get("params") or {}}}
            payload = {"type": "actionCallback", "outTrackId": card.out_track_id, "corpId": sim.org.corp_id,
                       "userId": user.userid if card.user_id_type == 1 else user.unionid,
                       "content": json.dumps(content, ensure_ascii=False)}
            now = sim.now()
        delivery = post_card_callback(route["callbackUrl"], route["apiSecret"], payload, now,
                                      timeout=sim.outbound_timeout)
        sim.log("delivery", delivery.public())
        with sim.lock:
            ignored = (sim.cards.apply_reply(card, user, delivery.body, now) if delivery.ok
                       else delivery.error or f"late reply ({delivery.latency_ms} ms), card unchanged")
        return {"ok": delivery.ok, "status": delivery.status, "body": delivery.body, "applied": ignored is None,
                "ignored": ignored, "delivery": delivery.public()}

    def open_app(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """A user opening the H5 app from 工作台 (or the JSAPI shim asking for a code)."""
        sim = self.sim
        if body.get("corpId") and body["corpId"] != sim.org.corp_id:
            raise ControlError(400, "corpId does not match this org")
        if body.get("clientId") and body["clientId"] != sim.org.client_id:
            raise ControlError(400, "clientId does not match this app")
        with sim.lock:
            if body.get("userId") not in sim.directory.users:
                raise ControlError(404, f"no user {body.get('userId')}")
        code = sim.mint_auth_code(body["userId"])
        return {"ok": True, "authCode": code, "code": code, "userId": body["userId"], "corpId": sim.org.corp_id,
                "expiresIn": 300}

    def _push(self, url: str, payload: dict[str, Any]) -> Delivery:
        sim = self.sim
        delivery = push_event(url, sim.crypt, payload, sim.now(), timeout=sim.outbound_timeout,
                              legacy_query=sim.legacy_event_query)
        sim.log("delivery", delivery.public())
        return delivery

    def _change_group(self, group: Group, operator: User, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """Apply the admin's change and build the event DingTalk pushes for it (fields per §1.3)."""
        sim = self.sim
        now_ms = int(sim.now() * 1000)
        event = self._common(now_ms)
        if action == "rename":
            title = str(body.get("title") or "").strip()
            if not title or len(title) > MAX_TITLE:
                raise ControlError(400, f"title is required and at most {MAX_TITLE} characters")
            group.title = title
            return {"EventType": "chat_update_title", **event, "timeStamp": now_ms, "chatId": group.chat_id,
                    "corpId": sim.org.corp_id, "operatorUnionId": operator.unionid, "title": title,
                    "openConversationId": group.open_conversation_id, "operator": operator.userid}
        group.cool_app_installed = action == "install-cool-app"
        event_type = "im_cool_app_install" if group.cool_app_installed else "im_cool_app_uninstall"
        return {"EventType": event_type, **event, "coolAppCode": sim.org.cool_app_code, "operateTime": now_ms,
                "openConversationCorpId": sim.org.corp_id, "robotCode": sim.org.client_id,
                "openConversationId": group.open_conversation_id, "operator": operator.userid}

    def _common(self, now_ms: int) -> dict[str, Any]:
        """What every HTTP push carries besides its own fields (§1.3)."""
        return {"EventTime": now_ms, "CorpId": self.sim.org.corp_id, "BizId": str(now_ms), "eventId": uuid.uuid4().hex}

    def _can_see(self, spaces: list[dict[str, Any]], user: User) -> bool:
        for space in spaces:
            if not space["success"]:
                continue
            if space["key"] == f"IM_ROBOT.{user.userid}":
                return True
            group = self.sim.directory.groups.get(space["spaceId"]) if space["spaceType"] == "IM_GROUP" else None
            if group is not None and user.userid in group.members:
                return True
        return False
