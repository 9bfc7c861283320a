# DingTalk simulator: one org's side of DingTalk for local runs and end-to-end tests.
#
# Simulates (under /dingtalk; /dingtalk/api stands for https://api.dingtalk.com and /dingtalk/oapi for
# https://oapi.dingtalk.com):
#   app tokens (new: POST /v1.0/oauth2/accessToken and, per organisation, /v1.0/oauth2/{corpId}/token; old:
#   GET /gettoken; separate families, 7200 s),
#   interactive cards (callbacks/register, instances/createAndDeliver, PUT instances), H5 login
#   (topapi/v2/user/getuserinfo + single-use 5-minute authCodes), topapi/v2/user/getbymobile, scene
#   groups (sceneGroup/create, member/add, sceneGroups/query: 查询群简要信息, also for cool-app groups), the
#   权限管理 permissions those and getbymobile need (granted as seed 000 asks, revocable at
#   /_sim/console/permissions), QPS and monthly-quota limits, injected faults,
#   custom group robots (robot.py: POST /robot/send, the console's 添加机器人 → 自定义), 上传媒体文件
#   (POST oapi /media/upload, multipart ``type`` + ``media``: images ≤ 20 MB of jpg, gif, png or bmp; the bytes
#   are served back at /_sim/media/<media_id> for the page's card image component),
#   and the outbound side: encrypted event pushes incl. the console's check_url, signed card-button callbacks.
#
# Sources (facts only, no code copied):
#   - open.dingtalk.com pages "创建并投放卡片", "更新卡片", "注册卡片回调地址", "创建场景群", "添加场景群成员",
#     "查询群简要信息" (POST /v1.0/im/sceneGroups/query, qyapi_chat_manage; body fields as the SDK's
#     GetSceneGroupInfoResponseBody: success, openConversationId, templateId, title, ownerUserId, status),
#     "requestAuthCode" (5 min, single use), "附录B：如何处理钉钉服务端API限流" (90018/90020 and their new-API
#     codes), "获取企业内部应用的accessToken" (400 invalidClientIdOrSecret), "获取应用的 Access Token"
#     (/v1.0/oauth2/{corpId}/token: client_credentials, snake_case answer, 400 invalid.client, 400
#     unsupported.grant.type), the old global errcode table
#     (40078, 60121, 71009, 71011, 71012, 42001, -1);
#   - a published credential-free probe log of the live endpoints (2026-09): gettoken with bad keys →
#     40096 "不合法的appKey或appSecret", missing keys → 40035; bad new-API token → HTTP 400
#     {"code":"InvalidAuthentication","requestid","message":"不合法的access_token"}, missing header →
#     400 AuthenticationFailed.MissingParameter; bad topapi token → HTTP 200 errcode 88, sub_code "40014";
#     topapi without token → 88 / "40000"; /v1.0/oauth2/{corpId}/token for an unknown corpId → HTTP 500
#     {"code":"unknownError","message":"未知错误"}; unknown topapi method → errcode 22; unknown api path → errcode 404;
#   - client code in the wild confirming HTTP 403 for Forbidden.AccessDenied.* and
#     {"code":"system.busy","message":"system.busy"} with HTTP 500;
#   - open-dingtalk's "接口调用没有权限" best practice (Forbidden.AccessDenied.AccessTokenPermissionDenied with
#     accessdenieddetail.requiredScopes) and client code showing topapi's 88 / sub_code 60011
#     "no permission to use this api, scope=…".
from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import Any, Callable

from chalicelib.platforms.msgcrypt import MsgCrypt
from devkit.simulators.base import PlatformSimulator
from devkit.simulators.dingtalk.cards import CardPlatform
from devkit.simulators.dingtalk.control import MOUNT_PATH, ControlApi, panel_html
from devkit.simulators.dingtalk.gate import (
    FAULT_KINDS,
    NEW_INVALID_TOKEN,
    NEW_MISSING_TOKEN,
    ApiError,
    Limits,
    OapiError,
    new_fault_error,
    old_fault_error,
    scope_denied,
    token_refused,
)
from devkit.simulators.dingtalk.org import (
    DEFAULT_TEMPLATE_PATH,
    Directory,
    Group,
    Org,
    User,
    default_groups,
    default_users,
    load_template,
    new_oapi_request_id,
)
from devkit.simulators.dingtalk.robot import DingTalkRobots
from devkit.simulators.dingtalk.scene import SceneGroups
from devkit.simulators.http import ANY, Request, Response, Route, json_response
from devkit.simulators.media import MediaStore, body_over, form, sniff
from devkit.simulators.previews import PreviewRefused, Previews, Submitted
from devkit.simulators.tokens import TOKEN_TTL, TokenFamily

TOKEN_HEADER = "x-acs-dingtalk-access-token"
AUTH_CODE_TTL = 300
# 上传媒体文件: type image takes jpg, gif, png and bmp up to 20 MB; the old errcode table's 40004 (media type),
# 40005 (file type) and 40006 (file size) refuse the rest.
IMAGE_FORMATS, IMAGE_MAX_BYTES = ("jpg", "gif", "png", "bmp"), 20 * 1024 * 1024


class DingTalkSimulator(PlatformSimulator):
    """The state of one simulated DingTalk org, served by ``routes()`` under ``/dingtalk``."""

    mount_path = MOUNT_PATH
    panel = staticmethod(panel_html)

    def __init__(self, org: Org | None = None, users: list[User] | None = None, groups: list[Group] | None = None,
                 *, now: Callable[[], float] = time.time, qps_limit: int = 20, monthly_quota: int | None = None,
                 window_style: str | None = None,
                 template_path: Path = DEFAULT_TEMPLATE_PATH, outbound_timeout: float = 10.0,
                 legacy_event_query: bool = False) -> None:
        super().__init__(FAULT_KINDS)
        self.org = org or Org()
        users = users if users is not None else default_users()
        self.directory = Directory(users, groups if groups is not None else default_groups(users))
        self.now = now
        template = load_template(template_path, self.org.card_template_id)
        self.cards = CardPlatform(self.org, self.directory, {template.template_id: template})
        self.scene = SceneGroups(self.org, self.directory)
        self.new_tokens, self.old_tokens = TokenFamily(), TokenFamily()
        self.limits = Limits(qps_limit, monthly_quota, window_style)
        self.auth_codes: dict[str, tuple[str, float]] = {}  # code -> (userid, expires at)
        self.event_url: str | None = None
        self.crypt = MsgCrypt(self.org.token, self.org.aes_key, self.org.client_id)  # owner key = AppKey
        self.outbound_timeout = outbound_timeout
        self.legacy_event_query = legacy_event_query
        self.robots = DingTalkRobots(self)
        self.media = MediaStore("@lADP")  # the shape of DingTalk's media ids
        self.previews = Previews(self.lock, self.now, lambda payload: "cardTemplateId" not in payload, self._preview)

    @property
    def api_base(self) -> str:
        return self.mounted("/api")

    @property
    def oapi_base(self) -> str:
        return self.mounted("/oapi")

    def mint_auth_code(self, userid: str) -> str:
        """A user opening the app: DingTalk's client hands the page a single-use authCode."""
        with self.lock:
            code = secrets.token_hex(16)
            self.auth_codes[code] = (userid, self.now() + AUTH_CODE_TTL)
            return code

    def state(self) -> dict[str, Any]:
        """What ``GET /dingtalk/_sim/state`` returns, for tests that hold the simulator object."""
        return ControlApi(self).state()

    def routes(self) -> list[Route]:
        return [
            self._new_api("POST", "/v1.0/oauth2/accessToken", self._access_token, auth=False, quota=False),
            self._new_api("POST", "/v1.0/oauth2/{corpId}/token", self._corp_token, auth=False, quota=False),
            self._new_api("POST", "/v1.0/card/callbacks/register",
                          lambda r: self.cards.register_callback(r.json_object())),
            self._new_api("POST", "/v1.0/card/instances/createAndDeliver",
                          lambda r: self.cards.create_and_deliver(r.json_object(), self.now())),
            self._new_api("PUT", "/v1.0/card/instances", lambda r: self.cards.update(r.json_object(), self.now())),
            self._new_api("POST", "/v1.0/im/sceneGroup/create", lambda r: self.scene.create(r.json_object()),
                          scope="qyapi_chat_manage"),
            self._new_api("POST", "/v1.0/im/sceneGroup/member/add", lambda r: self.scene.add_members(r.json_object()),
                          scope="qyapi_chat_manage"),
            self._new_api("POST", "/v1.0/im/sceneGroups/query", lambda r: self.scene.query(r.json_object()),
                          scope="qyapi_chat_manage"),
            self._old_api("GET", "/gettoken", self._gettoken, auth=False, quota=False),
            self._old_api("POST", "/topapi/v2/user/getuserinfo", self._getuserinfo, quota=False),
            self._old_api("POST", "/topapi/v2/user/getbymobile", self._getbymobile, quota=False,
                          scope="qyapi_get_member_by_mobile"),
            self._old_api("POST", "/media/upload", self._upload_media),
            self.media.route(),
            *self.robots.routes(),
            *self.previews.routes(),
            Route(ANY, r"/oapi/topapi/(?P<method>.+)", self._unknown_topapi),
            Route(ANY, r"/api/.*", self._unknown_api),
            *ControlApi(self).routes(),
        ]

    def _new_api(self, method: str, path: str, handler: Callable[[Request], dict[str, Any]], *,
                 auth: bool = True, quota: bool = True, scope: str = "") -> Route:
        api = f"{method} {path}"

        def run(request: Request) -> Response:
            try:
                self._gate(api, path, new=True, token=request.header(TOKEN_HEADER) if auth else None,
                           auth=auth, quota=quota, scope=scope)
                with self.lock:
                    return json_response(200, handler(request))
            except ApiError as exc:
                self._reject(api, exc.status, exc.code, exc.reason or exc.message)
                return json_response(exc.status, exc.body())

        return Route(method, "/api" + re.escape(path).replace(re.escape("{corpId}"), "(?P<corpId>[^/]+)"), run)

    def _old_api(self, method: str, path: str, handler: Callable[[Request], dict[str, Any]], *,
                 auth: bool = True, quota: bool = True, scope: str = "") -> Route:
        api = f"{method} {path}"

        def run(request: Request) -> Response:
            try:
                self._gate(api, path, new=False, token=request.query.get("access_token"), auth=auth, quota=quota,
                           scope=scope)
                with self.lock:
                    body = {"errcode": 0, "errmsg": "ok", **handler(request)}
                if auth:  # topapi answers carry a request_id, gettoken's do not
                    body["request_id"] = new_oapi_request_id()
                return json_response(200, body)
            except OapiError as exc:
                self._reject(api, 200, str(exc.sub_code or exc.errcode), exc.reason or exc.errmsg)
                return json_response(200, exc.body(with_request_id=auth))

        return Route(method, "/oapi" + re.escape(path), run)

    def _gate(self, api: str, path: str, *, new: bool, token: str | None, auth: bool, quota: bool,
              scope: str) -> None:
        """Count the call, then faults, token, permission, QPS and quota, in the order DingTalk's gateway checks."""
        fault_error = new_fault_error if new else old_fault_error
        self.admit(api, path, fault_error)
        with self.lock:
            now = self.now()
            if auth:
                self._check_token(new, token, now)
            if scope and scope not in self.org.permissions:
                raise scope_denied(new, scope)
            if self.limits.qps_exceeded(api, now):
                raise fault_error("qps")
            if quota and self.limits.quota_exceeded(now):
                raise fault_error("quota")

    def _check_token(self, new: bool, token: str | None, now: float) -> None:
        status = (self.new_tokens if new else self.old_tokens).status(token, now)
        if status == "ok":
            return
        if new:
            raise ApiError(400, *(NEW_MISSING_TOKEN if status == "missing" else NEW_INVALID_TOKEN), reason=status)
        if status == "missing":
            raise token_refused("40000", "access_token is blank")
        raise token_refused("42001", "access_token超时") if status == "expired" else \
            token_refused("40014", "不合法的access_token")

    def _reject(self, api: str, status: int, code: str, reason: str) -> None:
        self.log("rejection", {"at": self.now(), "api": api, "status": status, "code": code, "reason": reason})

    def _unknown_topapi(self, request: Request) -> Response:
        """Live oapi answers a misspelt topapi method with errcode 22, in an HTTP 200."""
        name = "dingtalk.oapi." + request.params["method"].replace("/", ".")
        sub_msg = f"不合法ApiName，ApiName = {name}"
        self._reject(f"{request.method} {request.path}", 200, "22", "unknown topapi method")
        return json_response(200, {"errcode": 22, "sub_msg": sub_msg, "errmsg": f"Invalid method[submsg={sub_msg}]",
                                   "request_id": new_oapi_request_id()})

    def _unknown_api(self, request: Request) -> Response:
        """Live api.dingtalk.com answers an unknown path with HTTP 200 and errcode 404; logged so it shows."""
        self._reject(f"{request.method} {request.path}", 200, "404", "unknown API path")
        return json_response(200, {"errcode": 404, "errmsg": "请求的URI地址不存在"})

    def _access_token(self, request: Request) -> dict[str, Any]:
        body = request.json_object()
        if (body.get("appKey"), body.get("appSecret")) != (self.org.client_id, self.org.client_secret):
            raise ApiError(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret",
                           reason="bad appKey/appSecret")
        return {"accessToken": self.new_tokens.issue(self.now()), "expireIn": TOKEN_TTL}

    def _corp_token(self, request: Request) -> dict[str, Any]:
        """获取应用的 Access Token: the app's token for the organisation named in the path. Its documented refusals
        (400 unsupported.grant.type, 400 invalid.client) and, for a corpId that is not this org, the live answer a
        published probe (2026-09) got for an unknown one: HTTP 500 unknownError 未知错误."""
        body = request.json_object()
        if body.get("grant_type") != "client_credentials":
            raise ApiError(400, "unsupported.grant.type", "unsupported.grant.type", reason="grant_type")
        if (body.get("client_id"), body.get("client_secret")) != (self.org.client_id, self.org.client_secret):
            raise ApiError(400, "invalid.client", "invalid.client", reason="bad client_id/client_secret")
        if request.params["corpId"] != self.org.corp_id:
            raise ApiError(500, "unknownError", "未知错误", reason=f"{request.params['corpId']} is not this org")
        return {"access_token": self.new_tokens.issue(self.now()), "expires_in": TOKEN_TTL}

    def _preview(self, preview: Submitted) -> dict[str, Any]:
        """A previewed createAndDeliver body (or robot message) checked as creating the card would be, not
        delivered."""
        if preview.for_robot:
            return self.robots.preview(preview)
        try:
            return {"kind": "app", "card": self.cards.checked(preview.payload, self.now()).view()}
        except ApiError as exc:
            raise PreviewRefused(exc.code, exc.message, exc.body(), exc.reason) from exc

    def _gettoken(self, request: Request) -> dict[str, Any]:
        key, secret = request.query.get("appkey"), request.query.get("appsecret")
        if not key or not secret:
            raise OapiError(40035, "缺少参数 corpid or appkey")
        if (key, secret) != (self.org.client_id, self.org.client_secret):
            raise OapiError(40096, "不合法的appKey或appSecret")
        return {"access_token": self.old_tokens.issue(self.now()), "expires_in": TOKEN_TTL}

    def _getuserinfo(self, request: Request) -> dict[str, Any]:
        code = request.json_object().get("code")
        if not code:
            raise OapiError(40035, "缺少参数 code")
        userid, expires_at = self.auth_codes.pop(str(code), ("", 0.0))  # single use: gone either way
        if not userid or expires_at <= self.now():
            raise OapiError(40078, "不存在的临时授权码", reason="unknown, used or expired authCode")
        user = self.directory.users[userid]
        return {"result": {"userid": user.userid, "unionid": user.unionid, "name": user.name,
                           "sys": user.admin, "sys_level": 1 if user.admin else 0,
                           "device_id": secrets.token_hex(16), "associated_unionid": ""}}

    def _upload_media(self, request: Request) -> dict[str, Any]:
        """``type`` as a form field (or in the query, which the doc allows too) and the file as ``media``."""
        if body_over(request, IMAGE_MAX_BYTES):
            raise OapiError(40006, "不合法的文件大小", reason=f"a body of {len(request.body)} bytes")
        parts = form(request)
        kind = parts["type"].text if "type" in parts else request.query.get("type", "")
        if kind != "image":
            raise OapiError(40004, "不合法的媒体文件类型", reason=f"type {kind!r} (only image is simulated)")
        media = parts.get("media")
        if media is None or media.filename is None:
            raise OapiError(40035, "缺少参数 media")
        found = sniff(media.data)
        if found not in IMAGE_FORMATS:
            raise OapiError(40005, "不合法的文件类型", reason="not a jpg, gif, png or bmp")
        if not media.data or len(media.data) > IMAGE_MAX_BYTES:
            raise OapiError(40006, "不合法的文件大小", reason=f"{len(media.data)} bytes")
        stored = self.media.put(media.data, found, self.now())
        return {"type": "image", "media_id": stored.ref, "created_at": int(stored.at * 1000)}

    def _getbymobile(self, request: Request) -> dict[str, Any]:
        mobile = request.json_object().get("mobile")
        if not mobile:
            raise OapiError(40035, "缺少参数 mobile")
        user = self.directory.user_by_mobile(str(mobile))
        if user is None:
            raise OapiError(60121, "找不到该用户")
        return {"result": {"userid": user.userid, "exclusive_account_userid_list": []}}
