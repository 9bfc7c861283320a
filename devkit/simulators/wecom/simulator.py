# WeCom (企业微信) simulator: one corp with one self-built app, and a service provider's suite (第三方应用)
# that this corp and a second one (示例科技) can install, for local runs and end-to-end tests.
#
# Simulates (under /wecom; /wecom stands for https://qyapi.weixin.qq.com and /wecom/oauth for
# https://open.weixin.qq.com): cgi-bin/gettoken (7200 s, the same token while valid), the access_token
# check, agent/get (the token's own app; another AgentId 40056),
# message/send (text, markdown, textcard, template cards with task_id/button/menu checks,
# invaliduser/unlicenseduser, 81013, response_code), message/update_template_card (single-use 72 h codes),
# user/getuserid, the OAuth authorize redirect + auth/getuserinfo, appchat/create|update|send|get, trusted IPs
# (60020), per-API 45009 with its 60 s block, per-member windows that drop silently, injected faults, and
# the outbound side: the console's GET check of the callback URL, encrypted XML card-click and text callbacks
# with WeCom's retries, passive replies applied, the trusted-domain file check.
#
# Sources (facts only, no code copied):
#   - the admin guide users follow (Flashduty's 企业微信集成 guide);
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
#
# The suite (suite.py, suite_control.py) — sources, facts only:
#   - the errcode table (a Go errcodes package with 排查方法, PHP/Java/JS tables, one C# enum disagreeing on
#     40084-40086, outvoted): 40078 不合法的auth_code (只能消费一次), 40080 suite_secret, 40082 suite_token,
#     40083 suite_id, 40084 permanent_code (含企业已取消授权), 40085 suite_ticket (不存在或者已失效),
#     40086 第三方应用appid, 41021-41025 (缺少 suite_id / suite_access_token / suite_ticket / secret /
#     permanent_code), 42009 suite_access_token已过期, 48002 API接口无权限调用;
#   - doc text quoted in SDKs: suite_ticket every 10 min, 实际有效期30分钟, use the newest; the same
#     suite_access_token while valid (2 h); create_auth's AuthCode 5分钟内有效 and answered within 1000 ms;
#     get_permanent_code 临时授权码一次有效; the get_permanent_code / auth_info field names (two generated Go
#     SDKs); the instruction XML (SuiteId, InfoType, TimeStamp, SuiteTicket | AuthCode, State | AuthCorpId);
#     ReceiveId = suiteid for 第三方事件的回调; outer ToUserName = suiteid for them and AgentID only on app
#     callbacks (captured instruction bodies carry an empty <AgentID>); 数据回调URL may hold $CORPID$, replaced
#     by the authorising corp, and by the provider's CorpID for its URL check (校验时也应该使用服务商corpid);
#     receive ids as WeCom staff answer them in the developer community: every URL check (GET, either URL) the
#     provider's corpid, 数据回调 the authorising corp's corpid, 指令回调 the suiteid;
#     getuserinfo3rd answers lowercase corpid/userid/open_userid (client code), user_ticket+expires_in together;
#     应用群聊 only for 自建应用.
# Not confirmed, chosen and flagged: every English errmsg of the suite codes; 41008 for a missing auth_code
#   and 41002 for a missing auth_corpid; that the two URLs are saved together (one console form; ``which``
#   saves one); that only the latest 3 tickets are kept; that a cancelled corp's tokens fail as 40014; that a
#   re-install keeps the corp's AgentId; that a late create_auth answer (> 1 s) is flagged but not retried
#   (the 5 s/3-attempt rule applies); that the suite's trusted domain needs no ownership file; open_userid's
#   value (shape only); 48002 for appchat with a suite token; that the suite's app may call user/getuserid;
#   per-member windows per app (the suite's app has its own); auth_corp_info's industry/scale values; one
#   outer element order (ToUserName, AgentID, Encrypt) for every callback. The 10-minute ticket schedule runs
#   on wall-clock time (``ticket_interval``; None turns it off).
# 上传图片 (media/uploadimg): multipart ``media``, JPG or PNG of 5 B to 2 MB (the global table's 40005 invalid
#   file type, 40009 invalid image size, 41005 media data missing); the answered ``url`` (p.qpic.cn on WeCom) is
#   the simulator's own /_sim/media/<ref>, which serves the bytes back.
# Not simulated: departments and tags (toparty/totag always come back invalid), enable_duplicate_check,
#   the app-chat per-member windows, temporary media (media/upload), the JSON callback flavour, getcallbackip,
#   JS-SDK tickets, the smart-robot (智能机器人) mode; for the suite: pre_auth_code / set_session_info and the
#   install link, change_auth / reset_permanent_code / contact-change instructions, get_auth_info, provider
#   tokens and the provider's IP whitelist, interface licences (接口许可) and the paid editions.
from __future__ import annotations

import re
import time
from typing import Any, Callable

from chalicelib.platforms.msgcrypt import MsgCrypt
from devkit.simulators.base import PlatformSimulator
from devkit.simulators.http import Request, Response, Route, json_response
from devkit.simulators.media import MediaStore, form, media_url, sniff
from devkit.simulators.previews import PreviewRefused, Previews, Submitted
from devkit.simulators.tokens import TokenFamily
from devkit.simulators.wecom.apps import SELF_BUILT, AppView, view_for_token
from devkit.simulators.wecom.chats import CHAT_TYPES, AppChats
from devkit.simulators.wecom.control import MOUNT_PATH, ControlApi, panel_html
from devkit.simulators.wecom.corp import Corp, Directory, Org, Suite, User, default_users, demo_org
from devkit.simulators.wecom.gate import FAULT_KINDS, WRONG_JSON, Limits, WeComError, fault_error
from devkit.simulators.wecom.messages import Message, Messages, message_payload
from devkit.simulators.wecom.oauth import COOKIE, OAuth
from devkit.simulators.wecom.robot import WeComRobots
from devkit.simulators.wecom.suite import SuiteService
from devkit.simulators.wecom.suite_control import SuiteControl

IMAGE_FORMATS, IMAGE_MIN_BYTES, IMAGE_MAX_BYTES = ("jpg", "png"), 5, 2 * 1024 * 1024  # 上传图片

TOKEN_TTL = 7200
MOBILE = re.compile(r"\+?[0-9\-]{5,32}")
HOME_SUITE_AGENT_ID = "1000017"  # the suite's app in the home corp, once it installs the suite
Handler = Callable[[AppView, Request, dict[str, Any]], dict[str, Any]]


class WeComSimulator(PlatformSimulator):
    """The state of the simulated WeCom corps, the home corp's self-built app and the suite, served by
    ``routes()`` under ``/wecom``."""

    mount_path = MOUNT_PATH
    panel = staticmethod(panel_html)

    def __init__(self, corp: Corp | None = None, users: list[User] | None = None, *,
                 now: Callable[[], float] = time.time, limits: Limits | None = None,
                 callback_timeout: float = 5.0, verify_timeout: float = 1.0, suite: Suite | None = None,
                 orgs: list[Org] | None = None, ticket_interval: float | None = 600.0) -> None:
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
        self.home = AppView(SELF_BUILT, self.corp, self.directory, self.messages, self.crypt, self.tokens, self.chats)
        home_org = Org(self.corp.corp_id, self.corp.corp_name, self.directory, HOME_SUITE_AGENT_ID)
        self.suite = SuiteService(suite or Suite(), [home_org, *(orgs if orgs is not None else [demo_org()])])
        self.media = MediaStore("wwpic_")
        self.robots = WeComRobots(self)
        self.previews = Previews(self.lock, self.now, lambda payload: not {"agentid", "chatid"} & payload.keys(),
                                 self._preview)
        self.ticket_interval = ticket_interval  # seconds between suite_ticket pushes once the URL is saved

    def views(self) -> list[AppView]:
        """Every app a token, click or member can reach: the self-built app first, then the suite's installs."""
        return [self.home, *self.suite.views()]

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
                    "robots": self.robots.robots.public(), "media": self.media.view(),
                    "previews": self.previews.public(),
                    "consentUser": self.oauth.consent_user, "limits": self.limits.public(),
                    "suite": self.suite.public(now), "faults": self.faults.public(), "calls": dict(self.calls),
                    "deliveries": list(self.journal.deliveries), "rejections": list(self.journal.rejections)}

    def routes(self) -> list[Route]:
        suite, now = self.suite, self.now
        return [
            *self.robots.routes(),
            *self.previews.routes(),
            self._api("GET", "/gettoken", lambda _, r, __: self._gettoken(r.query), auth=None),
            self._api("POST", "/message/send", lambda app, _, body: app.messages.send(body, now())),
            self._api("POST", "/message/update_template_card",
                      lambda app, _, body: app.messages.update_card(body, now())),
            self._api("POST", "/media/uploadimg", lambda _, r, __: self._uploadimg(r)),
            self.media.route(),
            self._api("POST", "/user/getuserid", self._getuserid),
            self._api("GET", "/agent/get", lambda app, r, _: app.detail(r.query.get("agentid", ""))),
            self._api("GET", "/auth/getuserinfo", self._getuserinfo),
            self._api("POST", "/appchat/create", lambda app, _, body: app.app_chats().create(body, now())),
            self._api("POST", "/appchat/update", lambda app, _, body: app.app_chats().update(body)),
            self._api("POST", "/appchat/send", lambda app, _, body: app.app_chats().send(body, now())),
            self._api("GET", "/appchat/get", lambda app, r, _: app.app_chats().get(r.query)),
            self._api("POST", "/service/get_suite_token", lambda _, __, body: suite.suite_token(body, now()),
                      auth=None),
            self._api("POST", "/service/get_permanent_code", lambda _, __, body: suite.permanent_code(body, now()),
                      auth="suite"),
            self._api("POST", "/service/get_corp_token", lambda _, __, body: suite.corp_token(body, now()),
                      auth="suite"),
            self._api("GET", "/service/auth/getuserinfo3rd",
                      lambda _, r, __: suite.user_info(r.query.get("code"), now()), auth="suite"),
            Route("GET", r"/oauth/connect/oauth2/authorize", self._authorize),
            *ControlApi(self).routes(),
            *SuiteControl(self).routes(),
        ]

    def _api(self, method: str, path: str, handler: Handler, *, auth: str | None = "corp") -> Route:
        """One cgi-bin API: count, faults, token (a corp's ``access_token`` or the ``suite_access_token``), trusted
        IPs, frequency, then the handler with the app the token reaches; HTTP 200 always."""
        api = f"{method} /cgi-bin{path}"

        def run(request: Request) -> Response:
            body = request.json_object()
            wrong_json = (bool(request.body) and not isinstance(request.json(), dict)  # WeCom warns, reads on
                          and not form(request))
            try:
                self.admit(api, request.path, fault_error)
                with self.lock:
                    app = self._gate(api, request, auth)
                    return json_response(200, {"errcode": 0, "errmsg": "ok", **handler(app, request, body)})
            except WeComError as exc:
                self.log("rejection", {"at": self.now(), "api": api, "status": exc.status, "code": exc.errcode,
                                       "reason": exc.reason})
                return exc.response(request.client, WRONG_JSON if wrong_json else "")

        return Route(method, "/cgi-bin" + re.escape(path), run)

    def _gate(self, api: str, request: Request, auth: str | None) -> AppView:
        app = self.home
        if auth == "corp":
            app = view_for_token(self.views(), request.query.get("access_token"), self.now())
            trusted = self.corp.trusted_ips if app is self.home else []  # the provider's IP list is not simulated
            if trusted and request.client not in trusted:
                raise WeComError(60020, "not allow to access from your ip", f"{request.client} is not a trusted IP")
        elif auth == "suite":
            self.suite.check_token(request.query.get("suite_access_token"), self.now())
        self.limits.check_api(api, self.now())
        return app

    def _preview(self, preview: Submitted) -> dict[str, Any]:
        """A previewed message/send body (appchat/send for a group's summary, or a robot message) checked as
        sending it would be, not sent."""
        if preview.for_robot:
            return self.robots.preview(preview)
        payload = preview.payload  # its AgentId says which app (the self-built one, or the suite's in a corp)
        app = next((v for v in self.views() if v.corp.agent_id == str(payload.get("agentid"))), self.home)
        try:
            msgtype, content = (message_payload(payload, CHAT_TYPES) if "chatid" in payload
                                else app.messages.checked(payload))
        except WeComError as exc:
            raise PreviewRefused(str(exc.errcode), exc.errmsg, {"errcode": exc.errcode, "errmsg": exc.errmsg},
                                 exc.reason) from exc
        shown = Message("preview", "preview", "app", msgtype, dict(content), self.now())
        return {"kind": "app", "message": shown.public()}

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

    def _uploadimg(self, request: Request) -> dict[str, Any]:
        media = form(request).get("media")
        if media is None or media.filename is None:
            raise WeComError(41005, "media data missing")
        found = sniff(media.data)
        if found not in IMAGE_FORMATS:
            raise WeComError(40005, "invalid file type", "uploadimg takes JPG or PNG")
        if not IMAGE_MIN_BYTES <= len(media.data) <= IMAGE_MAX_BYTES:
            raise WeComError(40009, "invalid image size", f"{len(media.data)} bytes, not 5 B to 2 MB")
        return {"url": media_url(self.mounted(), self.media.put(media.data, found, self.now()).ref)}

    def _getuserid(self, app: AppView, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        mobile = str(body.get("mobile") or "")
        if not MOBILE.fullmatch(mobile):
            raise WeComError(60103, "mobile invalid", "mobile must be 5-32 digits, + or -")
        user = app.directory.by_mobile(mobile)
        if user is None:
            self.limits.mobile_miss(app.directory.licensed_count, self.now())
            raise WeComError(46004, "user no exist", f"no member with mobile {mobile}")
        return {"userid": user.userid}

    def _getuserinfo(self, app: AppView, request: Request, _body: dict[str, Any]) -> dict[str, Any]:
        """The self-built app's codes only; a suite's app signs members in through getuserinfo3rd."""
        if app is not self.home:
            raise WeComError(40029, "invalid code", "auth/getuserinfo is the self-built app's; use getuserinfo3rd")
        return self.oauth.user_info(request.query.get("code"), self.now())

    def _authorize(self, request: Request) -> Response:
        flow = self.suite.oauth if request.query.get("appid") == self.suite.suite.suite_id else self.oauth
        with self.lock:
            return flow.authorize(request.query, request.cookie(COOKIE), self.now())
