"""The WeCom simulator's control surface (``/wecom/_sim/...``) and its page.

What a person or a test uses to play the corp's admin and members: save the callback URL (the console's
GET check), set the trusted domain and trusted IPs, tune limits, press card buttons and ``...`` menu items,
message the app, open the app from 工作台. Clicks and messages reach the app that sent the card or that the
member has (``corp_id`` picks the suite's app in that corp; the suite's own controls are in
suite_control.py). None of it is a WeCom API, so errors here are ``{"ok": false, "error": ...}``.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from devkit.simulators.control import ControlError, control_post, fault_route, page_routes, panel_fragment
from devkit.simulators.http import Request, Route, with_query
from devkit.simulators.outbound import Delivery
from devkit.simulators.wecom.apps import AppView, card_view, member_view, narrowed
from devkit.simulators.wecom.cards import button_keys, check_card, menu_keys
from devkit.simulators.wecom.corp import User
from devkit.simulators.wecom.gate import WeComError
from devkit.simulators.wecom.messages import Message
from devkit.simulators.wecom.push import ReplyRefused, passive_update, push, verify_domain, verify_url, xml_message

if TYPE_CHECKING:
    from devkit.simulators.base import PlatformSimulator
    from devkit.simulators.wecom.simulator import WeComSimulator
    from devkit.simulators.wecom.suite_control import SuiteControl

PANEL_TEMPLATE = (Path(__file__).resolve().parent / "page.html").read_text(encoding="utf-8")
MOUNT_PATH = "/wecom"
SIDE = """<details open class="console"><summary><b>管理后台 Admin console</b></summary>
<p>接收消息 URL <input data-role="callback-url"><button data-act="callback-url">保存 Save (GET 校验)</button></p>
<p>可信域名 Trusted domain <input data-role="trusted-domain"><button data-act="trusted-domain">设置 Set</button></p>
<p>应用主页 web_home <input data-role="web-home">\
<button class="green" data-act="open-app">从工作台打开 Open app</button></p>
</details><details open class="console"><summary><b>服务商 Suite (第三方应用)</b></summary>
<table data-role="suite"></table>
<p>指令回调 / 数据回调 URL <input data-role="suite-url"><button data-act="suite-url">保存 Save (GET 校验)</button></p>
<p>可信域名 Trusted domain <input data-role="suite-domain"><button data-act="suite-domain">设置 Set</button>
<button data-act="suite-ticket">推送 suite_ticket</button></p><div data-role="suite-orgs"></div>
</details><p><b>静默丢弃 Dropped messages</b></p><div class="log" data-role="drops"></div>"""


def panel_html(base_path: str) -> str:
    """Self-contained fragment (markup, scoped CSS, script) talking to ``base_path/_sim``."""
    return panel_fragment(PANEL_TEMPLATE, "wc-sim", base_path, SIDE)


def console_refusal(sim: PlatformSimulator, check: Delivery, refusal: str) -> dict[str, Any] | None:
    """Log a console check; the console's refusal when it failed, else None."""
    sim.log("delivery", check.public())
    if check.ok:
        return None
    reason = check.error or f"answered after {check.latency_ms} ms"
    return {"ok": False, "error": f"{refusal}: {reason}", "delivery": check.public()}


class ControlApi:
    def __init__(self, sim: WeComSimulator, suite: SuiteControl) -> None:
        self.sim, self.suite = sim, suite

    def routes(self) -> list[Route]:
        return [
            *page_routes("企业微信模拟器 WeCom simulator", panel_html(MOUNT_PATH), self.sim.state),
            control_post(r"/_sim/console/callback-url", self.save_callback_url),
            control_post(r"/_sim/console/trusted-domain", self.save_trusted_domain),
            control_post(r"/_sim/console/trusted-ips", self.save_trusted_ips),
            control_post(r"/_sim/limits", self.set_limits),
            control_post(r"/_sim/click", self.click),
            control_post(r"/_sim/send-text", self.send_text),
            control_post(r"/_sim/open-app", self.open_app),
            control_post(r"/_sim/users/(?P<uid>[^/]+)/leave", self.leave),
            fault_route(self.sim.inject),
        ]

    def save_callback_url(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """接收消息 → 设置API接收 → 保存: the GET check first; the URL is kept only if it passed."""
        sim, url = self.sim, str(body.get("url") or "")
        if not url.startswith(("http://", "https://")):
            return {"ok": False, "error": "请填写正确的URL (not an http(s) URL)"}
        refused = console_refusal(sim, verify_url(url, sim.crypt, sim.now(), timeout=sim.verify_timeout),
                                  "openapi回调地址请求不通过 (callback URL check failed)")
        return refused or self._keep("callback_url", url)

    def save_trusted_domain(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """网页授权及 JS-SDK → 可信域名: ownership is checked through the WW_verify file unless ``verify`` is false."""
        sim, domain = self.sim, str(body.get("domain") or "").strip()
        if not domain or "/" in domain:
            raise ControlError(400, "domain is a host with an optional port, e.g. app.example.com or 127.0.0.1:8000")
        refused = body.get("verify", True) and console_refusal(
            sim, verify_domain(domain, sim.corp, sim.now(), timeout=sim.verify_timeout),
            "85005 可信域名未通过所有权校验 (domain ownership not verified)")
        return refused or self._keep("trusted_domain", domain)

    def save_trusted_ips(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """企业可信IP; an empty list stops enforcing it."""
        ips = body.get("ips")
        if not isinstance(ips, list):
            raise ControlError(400, "ips is a list of addresses")
        return self._keep("trusted_ips", [str(ip).strip() for ip in ips if str(ip).strip()])

    def _keep(self, setting: str, value: Any) -> dict[str, Any]:
        """Save one console setting; the answer shows the app's settings as they now are."""
        with self.sim.lock:
            setattr(self.sim.corp, setting, value)
            return {"ok": True, **self.sim.corp.public()}

    def set_limits(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.sim.lock:
            try:
                self.sim.limits.configure(body)
            except (TypeError, ValueError) as exc:
                raise ControlError(400, f"limits are numbers and windowStyle is fixed or sliding: {exc}") from exc
            return {"ok": True, **self.sim.limits.public()}

    def click(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """A member pressing a card button or a ``...`` menu item: a fresh response code, the encrypted
        callback, and the passive reply (if any) applied to that member's card."""
        sim = self.sim
        with sim.lock:
            app, user, card, event = self._clicked(body)
            url, now = self._callback_url(app), sim.now()
            code = app.messages.codes.mint(card.task_id, f"click:{user.userid}", now)
            inner = self._inner(app, user, now, MsgType="event", Event=event, EventKey=str(body["key"]),
                                TaskId=card.task_id, CardType=str(card.content["card_type"]), ResponseCode=code)
        deliveries, response = self._push(app, url, inner, event)
        with sim.lock:
            applied, ignored = self._apply_reply(app, card, response, now)
        return {"ok": response is not None, "event": event, "responseCode": code, "applied": applied,
                "ignored": ignored, "attempts": [d.public() for d in deliveries]}

    def send_text(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """A member typing into the app's chat: the text message callback."""
        sim, content = self.sim, str(body.get("content") or "")
        with sim.lock:
            app, user = self._member(body)
            if not content:
                raise ControlError(400, "content is required")
            url, now = self._callback_url(app), sim.now()
            message = app.messages.received(user, content, now)
            inner = self._inner(app, user, now, MsgType="text", Content=content, MsgId=int(message.msgid))
        deliveries, response = self._push(app, url, inner, "text")
        return {"ok": response is not None, "msgid": message.msgid, "attempts": [d.public() for d in deliveries]}

    def open_app(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """A member opening the app from 工作台: the client loads the app's home page as them."""
        url = str(body.get("url") or "")
        if not url.startswith(("http://", "https://")):
            raise ControlError(400, "url must be the app's http(s) home page")
        with self.sim.lock:
            user = self._user(body)
            self.sim.oauth.consent_user = user.userid
        return {"ok": True, "url": with_query(url, {"sim_user": user.userid}), "userid": user.userid}

    def leave(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """The admin deletes a member (通讯录 → 离职/删除成员) of the home corp or, with ``corp_id``, of an
        organisation: gone, so sends name them in ``invaliduser``; the corp's self-built app gets
        Event=change_contact on its callback URL, the suite (where installed) InfoType=change_contact on its
        指令回调 URL (成员变更通知, document path/90970)."""
        sim, userid = self.sim, request.params["uid"]
        corp_id = str(body.get("corp_id") or sim.corp.corp_id)
        with sim.lock:
            org = sim.suite.orgs.get(corp_id)
            if org is None or userid not in org.directory.users:
                raise ControlError(404, f"no member {userid!r} in corp {corp_id!r}")
            user = org.directory.users.pop(userid)
            app_url = sim.corp.callback_url if corp_id == sim.corp.corp_id else None
            suite_url = sim.suite.suite.instruction_url if sim.suite.active(corp_id) else None
            inner = xml_message({"ToUserName": corp_id, "FromUserName": "sys", "CreateTime": int(sim.now()),
                                 "MsgType": "event", "Event": "change_contact", "ChangeType": "delete_user",
                                 "UserID": userid})
        pushed: dict[str, Any] = {}
        if app_url:
            deliveries, response = self._push(sim.home, app_url, inner, "change_contact")
            pushed["app"] = {"ok": response is not None, "attempts": [d.public() for d in deliveries]}
        if suite_url:
            pushed["suite"] = self.suite.contact_deleted(corp_id, userid)
        return {"ok": all(p["ok"] for p in pushed.values()), "pushed": sorted(pushed), **pushed,
                "user": user.public()}

    def _user(self, body: dict[str, Any]) -> User:
        user = self.sim.directory.users.get(str(body.get("userid") or ""))
        if user is None:
            raise ControlError(404, f"no member {body.get('userid')!r}")
        return user

    def _member(self, body: dict[str, Any]) -> tuple[AppView, User]:
        found = member_view(narrowed(self.sim.views(), body), str(body.get("userid") or ""))
        if found is None:
            raise ControlError(404, f"no member {body.get('userid')!r} reached by the app")
        return found

    def _clicked(self, body: dict[str, Any]) -> tuple[AppView, User, Message, str]:
        userid, task_id = str(body.get("userid") or ""), str(body.get("task_id") or "")
        found = card_view(narrowed(self.sim.views(), body), userid, task_id)
        if found is None:
            raise ControlError(404, f"{userid} has no card with task_id {task_id!r}")
        app, user, card = found
        key = str(body.get("key") or "")
        if key in menu_keys(card.content):
            return app, user, card, "template_card_menu_event"
        if key not in button_keys(card.content):
            raise ControlError(400, f"the card has no button or menu item with key {key!r}")
        if card.replace_name or card.content.get("replace_text"):
            raise ControlError(409, "the card's buttons are greyed out; they cannot be pressed any more")
        return app, user, card, "template_card_event"

    def _callback_url(self, app: AppView) -> str:
        if app.corp.callback_url is None:
            raise ControlError(409, "no callback URL saved in the console")
        return app.corp.callback_url

    def _inner(self, app: AppView, user: User, now: float, **fields: str | int) -> str:
        """A callback's plaintext XML from ``user`` to the app."""
        corp = app.corp
        return xml_message({"ToUserName": corp.corp_id, "FromUserName": user.userid, "CreateTime": int(now), **fields,
                            "AgentID": int(corp.agent_id)})

    def _push(self, app: AppView, url: str, inner: str, label: str) -> tuple[list[Delivery], requests.Response | None]:
        """A data callback: the app's crypt (receive id = the corp's CorpID), outer ToUserName = that CorpID."""
        sim = self.sim
        deliveries, response = push(url, app.crypt, app.corp.corp_id, app.corp.agent_id, inner, label, sim.now(),
                                    timeout=sim.callback_timeout)
        for delivery in deliveries:
            sim.log("delivery", delivery.public())
        return deliveries, response

    def _apply_reply(self, app: AppView, card: Message, response: requests.Response | None,
                     now: float) -> tuple[bool, str | None]:
        if response is None:
            return False, "no timely HTTP 200 in 3 attempts; card unchanged"
        try:
            update = passive_update(response.text, app.crypt)
            if update is None:
                return False, None
            kind, value = update
            if kind == "template_card":
                value = check_card({**value, "task_id": card.task_id})
        except ReplyRefused as exc:
            return False, str(exc)
        except WeComError as exc:
            return False, f"reply card refused: {exc.reason}"
        app.messages.apply(card, kind, value, "passive", now)
        return True, None
