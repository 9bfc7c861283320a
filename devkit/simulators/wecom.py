# WeCom (企业微信) simulator: one corp with one self-built app, for local runs and end-to-end tests.
#
# Simulates (under /wecom; /wecom stands for https://qyapi.weixin.qq.com and /wecom/oauth for
# https://open.weixin.qq.com): cgi-bin/gettoken (7200 s, the same token while valid), the access_token
# check, message/send (text, markdown, textcard, template cards with task_id/button/menu checks,
# invaliduser/unlicenseduser, 81013, response_code), message/update_template_card (single-use 72 h codes),
# user/getuserid, the OAuth authorize redirect + auth/getuserinfo, appchat/create|send|get, trusted IPs
# (60020), per-API 45009 with its 60 s block, per-member windows that drop silently, injected faults, and
# the outbound side: the console's GET check of the callback URL, encrypted XML card-click and text callbacks
# with WeCom's retries, passive replies applied, the trusted-domain file check.
#
# Sources (facts only, no code copied):
#   - /work/shared/docs/platform-protocols.md §3 and the admin guide (seed 003);
#   - the global errcode table as reproduced by SDKs (WxJava WxCpErrorMsgEnum, a Go errcodes package):
#     -1, 40001, 40008, 40013, 40014, 40029, 40056, 40058, 41001, 41002, 41004, 41008, 41011, 41033, 42001,
#     42014 (task card task_id), 42022 (code used once), 43012 (应用需配置回调url), 44004, 45002, 45009, 45033,
#     46004, 60020, 60103, 81012, 81013, 82001, 84025, 85005, 86001, 86003, 86005, 86006, 86007, 86205, 86207,
#     86215, 50001;
#   - live answers quoted in developer-community threads and client code: "invalid credential", "invalid
#     corpid", "invalid access_token", "invalid code", "user & party & tag all invalid" (with invaliduser),
#     "not allow to access from your ip", "api freq out of limit", "api concurrent out of limit", "invalid
#     message type"; the errmsg tail ", hint: [...], from ip: ..., more info at .../devtool/query?e=<code>" and
#     the Error-Code/Error-Msg headers; a button_interaction send reusing a task_id → 42014 "taskid has existed
#     or empty or exceed max len"; message/send answers invaliduser etc. as "a|b" strings, update_template_card
#     answers invaliduser as a list; "Warning: wrong json format." prefixes errmsg when the body is not JSON;
#   - developer.work.weixin.qq.com 更新模版卡片消息 (2025-07: one update per response_code, 72 h, button
#     replace_name only on button/vote/multiple cards), 创建群聊会话 (name cut at 50, chatid rules);
#   - a Go SDK's passive-reply tests for the update_button / update_template_card XML element names;
#   - the weworkapi_python callback sample (vector 2 incl. its POST Encrypt).
# Not confirmed, chosen and flagged: the English errmsg of 40058, 41002, 41004, 41008, 41011, 41033, 44004, 45002,
#   42022, 43012, 46004, 60103, 81012, 82001 and the 86xxx codes (41001 "access_token missing" and 42001 "access_token
#   expired" are WeChat's wording); 43012 as the answer to a callback card from an app without a callback URL; 42022
#   for a used response_code and 40058 for an unknown or expired one; 40058 (with the field in errmsg) for every
#   template-card field error; 40008 for template_card in appchat/send; 82001 for a send naming nobody and 81012 for
#   an update naming nobody; 86207 when the owner is not in userlist; that unlicensed-only sends answer errcode 0;
#   that gettoken extends the token's life and that gettoken is exempt from trusted IPs (sources disagree on
#   message/send; every other API is checked here); 45009 during the getuserid anti-abuse block; notice cards with
#   action_menu getting a response_code; that a click code can update any recipient's card of the task and that a
#   passive reply leaves the code unspent; the authorize error page wording and status 200; the console's error
#   wording; that menu items stay usable after a button update; HTTP 500's body for the http500 fault; that trusted
#   domains may carry a port (local runs need one).
# Not simulated: departments and tags (toparty/totag always come back invalid), enable_duplicate_check,
#   appchat/update and the app-chat per-member windows, media upload, the JSON callback flavour, getcallbackip,
#   JS-SDK tickets, the smart-robot (智能机器人) mode.
from __future__ import annotations

import re
import time
from typing import Any, Callable

from chalicelib.platforms.msgcrypt import MsgCrypt
from devkit.simulators.base import PlatformSimulator
from devkit.simulators.dingtalk_gate import TokenFamily
from devkit.simulators.http import Request, Response, Route, json_response
from devkit.simulators.wecom_chats import AppChats
from devkit.simulators.wecom_control import MOUNT_PATH, ControlApi, panel_html
from devkit.simulators.wecom_corp import Corp, Directory, User, default_users
from devkit.simulators.wecom_gate import FAULT_KINDS, WRONG_JSON, Limits, WeComError, fault_error
from devkit.simulators.wecom_messages import Messages
from devkit.simulators.wecom_oauth import COOKIE, OAuth

TOKEN_TTL = 7200
MOBILE = re.compile(r"\+?[0-9\-]{5,32}")
Handler = Callable[[Request, dict[str, Any]], dict[str, Any]]


class WeComSimulator(PlatformSimulator):
    """The state of one simulated WeCom corp and its self-built app, served by ``routes()`` under ``/wecom``."""

    mount_path = MOUNT_PATH
    panel = staticmethod(panel_html)

    def __init__(self, corp: Corp | None = None, users: list[User] | None = None, *,
                 now: Callable[[], float] = time.time, limits: Limits | None = None,
                 callback_timeout: float = 5.0, verify_timeout: float = 1.0) -> None:
        super().__init__(FAULT_KINDS)
        self.corp = corp or Corp()
        self.directory = Directory(users if users is not None else default_users())
        self.now = now
        self.limits = limits or Limits()
        self.tokens = TokenFamily()
        self.messages = Messages(self.corp, self.directory, self.limits)
        self.chats = AppChats(self.directory, self.messages)
        self.oauth = OAuth(self.corp, self.directory)
        self.crypt = MsgCrypt(self.corp.token, self.corp.encoding_aes_key, self.corp.corp_id)  # receive id = CorpID
        self.callback_timeout, self.verify_timeout = callback_timeout, verify_timeout

    @property
    def api_base(self) -> str:
        return self.mounted()

    @property
    def oauth_base(self) -> str:
        return self.mounted("/oauth")

    def state(self) -> dict[str, Any]:
        """What ``GET /wecom/_sim/state`` returns."""
        with self.lock:
            now = self.now()
            return {"corp": self.corp.public(), "apiBase": self.api_base, "oauthBase": self.oauth_base, "now": now,
                    "users": [u.public() for u in self.directory.users.values()],
                    "chats": [c.public() for c in self.chats.chats.values()], **self.messages.public(now),
                    "consentUser": self.oauth.consent_user, "limits": self.limits.public(),
                    "faults": self.faults.public(), "calls": dict(self.calls),
                    "deliveries": list(self.journal.deliveries), "rejections": list(self.journal.rejections)}

    def routes(self) -> list[Route]:
        return [
            self._api("GET", "/gettoken", lambda r, _: self._gettoken(r.query), auth=False),
            self._api("POST", "/message/send", lambda _, body: self.messages.send(body, self.now())),
            self._api("POST", "/message/update_template_card",
                      lambda _, body: self.messages.update_card(body, self.now())),
            self._api("POST", "/user/getuserid", lambda _, body: self._getuserid(body)),
            self._api("GET", "/auth/getuserinfo", lambda r, _: self.oauth.user_info(r.query.get("code"), self.now())),
            self._api("POST", "/appchat/create", lambda _, body: self.chats.create(body, self.now())),
            self._api("POST", "/appchat/send", lambda _, body: self.chats.send(body, self.now())),
            self._api("GET", "/appchat/get", lambda r, _: self.chats.get(r.query)),
            Route("GET", r"/oauth/connect/oauth2/authorize", self._authorize),
            *ControlApi(self).routes(),
        ]

    def _api(self, method: str, path: str, handler: Handler, *, auth: bool = True) -> Route:
        """One cgi-bin API: count, faults, token, trusted IPs, frequency, then the handler; HTTP 200 always."""
        api = f"{method} /cgi-bin{path}"

        def run(request: Request) -> Response:
            body = request.json_object()
            wrong_json = bool(request.body) and not isinstance(request.json(), dict)  # WeCom warns, reads on
            try:
                self.admit(api, request.path, fault_error)
                with self.lock:
                    self._gate(api, request, auth)
                    return json_response(200, {"errcode": 0, "errmsg": "ok", **handler(request, body)})
            except WeComError as exc:
                self.log("rejection", {"at": self.now(), "api": api, "status": exc.status, "code": exc.errcode,
                                       "reason": exc.reason})
                return exc.response(request.client, WRONG_JSON if wrong_json else "")

        return Route(method, "/cgi-bin" + re.escape(path), run)

    def _gate(self, api: str, request: Request, auth: bool) -> None:
        if auth:
            self._check_token(request.query.get("access_token"))
            if self.corp.trusted_ips and request.client not in self.corp.trusted_ips:
                raise WeComError(60020, "not allow to access from your ip", f"{request.client} is not a trusted IP")
        self.limits.check_api(api, self.now())

    def _check_token(self, token: str | None) -> None:
        status = self.tokens.status(token, self.now())
        if status == "missing":
            raise WeComError(41001, "access_token missing")
        if status == "expired":
            raise WeComError(42001, "access_token expired")
        if status == "unknown":
            raise WeComError(40014, "invalid access_token")

    def _gettoken(self, query: dict[str, str]) -> dict[str, Any]:
        if not query.get("corpid"):
            raise WeComError(41002, "corpid missing")
        if query["corpid"] != self.corp.corp_id:
            raise WeComError(40013, "invalid corpid")
        if not query.get("corpsecret"):
            raise WeComError(41004, "corpsecret missing")
        if query["corpsecret"] != self.corp.secret:
            raise WeComError(40001, "invalid credential")
        return {"access_token": self.tokens.issue(self.now()), "expires_in": TOKEN_TTL}

    def _getuserid(self, body: dict[str, Any]) -> dict[str, Any]:
        mobile = str(body.get("mobile") or "")
        if not MOBILE.fullmatch(mobile):
            raise WeComError(60103, "mobile invalid", "mobile must be 5-32 digits, + or -")
        user = self.directory.by_mobile(mobile)
        if user is None:
            self.limits.mobile_miss(self.directory.licensed_count, self.now())
            raise WeComError(46004, "user no exist", f"no member with mobile {mobile}")
        return {"userid": user.userid}

    def _authorize(self, request: Request) -> Response:
        with self.lock:
            return self.oauth.authorize(request.query, request.cookie(COOKIE), self.now())
