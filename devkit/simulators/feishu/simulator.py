# Feishu / Lark simulator: one tenant's side of Feishu for local runs and end-to-end tests.
#
# Simulates (under /feishu; /feishu stands for https://open.feishu.cn and /feishu/accounts for
# https://accounts.feishu.cn): tenant/app access tokens (7200 s, a new one when <30 min left, both valid),
# the bearer check, im/v1/messages (interactive cards, uuid idempotency), PATCH by message id, the delayed
# update by click token, contact/v3/users/batch_get_id, the OAuth authorize page + accounts oauth/v3/token
# (and the deprecated authen/v2/oauth/token) + authen/v1/user_info (+ v1 OIDC), im/v1/chats and chat members
# (succeed_type 0/1/2), the scopes those and batch_get_id need
# (granted as seed 002 asks, revocable at /_sim/console/permissions), Feishu's rate limits and monthly budget,
# injected faults, 上传图片 (im/v1/images, scope im:resource; the bytes served back at /_sim/media/<image_key>
# for the page's img elements), and the outbound side: encrypted+signed event pushes, the console's url_verification,
# card.action.trigger and legacy card callbacks with their replies applied.
#
# Sources (facts only, no code copied):
#   - the admin guide users follow (Flashduty's 飞书集成 guide);
#   - open.feishu.cn / open.larksuite.com pages: 自建应用获取 tenant_access_token (30-minute rule), 发送消息 and
#     更新应用发送的消息卡片 error tables (230001/230002/230013/230020/230025/230029/230031/230099/232009 and the
#     230099 sub-codes 200380/200621/200861/11310), 延时更新消息卡片 (c- token, 30 min, 300020/300030/300040/
#     300090/10002/11311/100000), 通过手机号或邮箱获取用户 ID (user_list shape, 50 per list), chat member docs
#     (232006/232009/232011/232015/232019/232024/232027), 服务端错误码说明 (10003/10014, 99991400/99991403/
#     99991661/99991663/99991664/99991668/99991671/99991677/99992351/99992402, 20003/20004), 频控策略 (HTTP 429,
#     x-ogw-ratelimit-limit/-reset, {"code":99991400,"msg":"request trigger frequency limit"});
#   - a published credential-free probe log (2026-09): token endpoint with a bad app_id → HTTP 200
#     {"code":10003,"data":{},"msg":"invalid param"}; no or non-Bearer Authorization → HTTP 400 99991661
#     "Missing access token…"; bad t- token → HTTP 400 99991663; unknown path or wrong method → plain-text
#     HTTP 404 "404 page not found"; oauth token with a bad code → HTTP 400 {"error":"invalid_grant",
#     "error_description":"The authorization code is not found…","code":20003};
#   - client fixtures in the wild: wrong secret → HTTP 200 {"code":10014,"msg":"app secret invalid"};
#     {"error":"invalid_client","error_description":"The client secret is invalid.","code":20002};
#     the authorize page's "错误码：20029 redirect_uri 请求不合法";
#   - client code in the wild for a missing scope: HTTP 400 {"code":99991672,"msg":"Access denied. One of the
#     following scopes is required: [...]","error":{"permission_violations":[{"type":"action_scope_required",…}]}};
#   - larksuite/oapi-sdk-python: event/card dispatchers (url_verification skips the signature; v2 callback
#     fields operator/token/action/host/context; reply toast + card{type,data}; legacy sha1 card signature);
#   - larksuite/oapi-sdk-go: im/v1 CreateChatMembers (succeed_type 0/1/2 and what invalid_id_list holds under
#     each), larkcard.CardAction (the legacy body: open_id, user_id, open_message_id, open_chat_id, tenant_key,
#     token "c-…", action);
#   - open.feishu.cn "Get user_access_token (v2)": deprecated for accounts.feishu.cn/oauth/v3/token, same
#     request and answer, PKCE held to its meaning.
# Not confirmed, chosen and flagged: the per-receiver and per-message 5/s limits answer 230020 (HTTP 400, as
#   the message docs list) rather than 429; HTTP status of 99991403 (400 here) and of the 300xxx delayed-update
#   errors (400); which calls the monthly budget counts (token and OAuth endpoints are exempt here); the exact
#   msg of 20004/20071/20010 and of a refused client_id on the authorize page; that a non-shared card refuses
#   PATCH with 230001; no signature headers on url_verification (lark-oapi issue #79 shows none) and on
#   unencrypted pushes; the console's error wording; uuid idempotency of chat create having no expiry;
#   the delayed-update token allows 2 uses (newer docs; an older Lark page says 3, settable) and 30 KB (the
#   older page says 100 KB); user tokens are "u-…" (the live v2/v3 endpoints now issue JWTs); which ids of an
#   add-members call land in invalid_id_list vs not_existed_id_list, and the codes of a succeed_type 0/2 refusal
#   (232024 for an id the app cannot see, 99992351 for an unknown one, the unusable ids in its data); the v3
#   token endpoint's codes for two client authentications (20070, from the 获取 user_access_token error
#   table) and for a PKCE mismatch (20001); legacy (v1) card clicks go plaintext even with an Encrypt Key
#   (the SDKs decrypt them when encrypted, so both are taken by the app).
from __future__ import annotations

import time
from typing import Any, Callable
from urllib.parse import parse_qsl

from devkit.simulators.base import PlatformSimulator
from devkit.simulators.feishu.chats import Chats
from devkit.simulators.feishu.control import MOUNT_PATH, ControlApi, panel_html
from devkit.simulators.feishu.gate import (
    FAULT_KINDS,
    INVALID_TOKEN,
    MISSING_TOKEN,
    FeishuError,
    Limits,
    TokenPool,
    api_error,
    fault_error,
    scope_denied,
    token_error,
)
from devkit.simulators.feishu.messages import Messages
from devkit.simulators.feishu.oauth import COOKIE, OAuth
from devkit.simulators.feishu.robot import FeishuRobots
from devkit.simulators.feishu.tenant import App, Directory, Group, User, default_groups, default_users, new_log_id
from devkit.simulators.http import ANY, Request, Response, Route, json_response, text_response
from devkit.simulators.media import MediaStore, body_over, form, sniff
from devkit.simulators.previews import PreviewRefused, Previews, Submitted, wire_size

IMAGE_MAX_BYTES = 10 * 1024 * 1024  # 上传图片: at most 10 MB

Handler = Callable[[Request, Any], dict[str, Any]]


class FeishuSimulator(PlatformSimulator):
    """The state of one simulated Feishu tenant, served by ``routes()`` under ``/feishu``."""

    mount_path = MOUNT_PATH
    panel = staticmethod(panel_html)

    def __init__(self, app: App | None = None, users: list[User] | None = None, groups: list[Group] | None = None,
                 *, now: Callable[[], float] = time.time, limits: Limits | None = None,
                 outbound_timeout: float = 10.0, member_add_seconds: float = 0.05) -> None:
        super().__init__(FAULT_KINDS)
        self.app = app or App()
        users = users if users is not None else default_users(self.app.app_id)
        self.directory = Directory(users, groups if groups is not None else default_groups(users))
        self.now = now
        self.limits = limits or Limits()
        self.messages = Messages(self.app, self.directory, self.limits)
        self.chats = Chats(self.app, self.directory)
        self.oauth = OAuth(self.app, self.directory)
        self.tenant_tokens, self.app_tokens = TokenPool("t-"), TokenPool("t-")
        self.toasts: list[dict[str, Any]] = []
        self.robots = FeishuRobots(self)
        self.media = MediaStore("img_v3_")  # the shape of image_keys
        self.previews = Previews(self.lock, self.now, lambda payload: "receive_id" not in payload, self._preview)
        self.event_url: str | None = None
        self.card_url: str | None = None
        self.outbound_timeout, self.member_add_seconds = outbound_timeout, member_add_seconds

    @property
    def api_base(self) -> str:
        return self.mounted()

    @property
    def accounts_base(self) -> str:
        return self.mounted("/accounts")

    def state(self) -> dict[str, Any]:
        """What ``GET /feishu/_sim/state`` returns."""
        with self.lock:
            return {"app": self.app.public(), "apiBase": self.api_base, "accountsBase": self.accounts_base,
                    "eventUrl": self.event_url, "cardUrl": self.card_url, "now": self.now(),
                    "users": [u.public() for u in self.directory.users.values()],
                    "groups": [g.public() for g in self.directory.groups.values()],
                    "p2pChats": {u.open_id: self.directory.p2p_chat_id(u) for u in self.directory.users.values()},
                    "messages": self.messages.by_space(), "toasts": list(self.toasts),
                    "robots": self.robots.robots.public(), "media": self.media.view(),
                    "previews": self.previews.public(),
                    "consentUser": self.oauth.consent_user, "faults": self.faults.public(),
                    "limits": self.limits.public(), "calls": dict(self.calls),
                    "deliveries": list(self.journal.deliveries), "rejections": list(self.journal.rejections)}

    def routes(self) -> list[Route]:
        tenant, user, app = "tenant", "user", "app"
        return [
            *self.robots.routes(),
            *self.previews.routes(),
            self._api("POST", "/auth/v3/tenant_access_token/internal", lambda r, _: self._token(
                r, self.tenant_tokens, "tenant_access_token"), limited=False),
            self._api("POST", "/auth/v3/app_access_token/internal", lambda r, _: self._token(
                r, self.app_tokens, "app_access_token"), limited=False),
            self._api("POST", "/im/v1/messages", lambda r, _: self.messages.send(
                r.query, r.json_object(), len(r.body), self.now()), auth=tenant),
            self._api("PATCH", "/im/v1/messages/(?P<message_id>[^/]+)", lambda r, _: self.messages.patch(
                r.params["message_id"], r.json_object(), len(r.body), self.now()), auth=tenant),
            self._api("POST", "/interactive/v1/card/update", lambda r, _: self.messages.delayed_update(
                r.json_object(), self.now()), auth=tenant),
            self._api("POST", "/im/v1/images", lambda r, _: self._upload_image(r), auth=tenant, scope="im:resource"),
            self.media.route(),
            self._api("POST", "/contact/v3/users/batch_get_id", lambda r, _: self.chats.batch_get_id(
                r.query, r.json_object()), auth=tenant, scope="contact:user.id:readonly"),
            self._api("POST", "/im/v1/chats", lambda r, _: self.chats.create(r.query, r.json_object()), auth=tenant,
                      scope="im:chat"),
            self._api("POST", "/im/v1/chats/(?P<chat_id>[^/]+)/members", self._add_members, auth=tenant, locked=False,
                      scope="im:chat"),
            self._api("POST", "/authen/v2/oauth/token", lambda r, _: self.oauth.token_v2(
                _form_or_json(r), self.now()), limited=False),
            self._api("POST", "/oauth/v3/token", lambda r, _: self.oauth.token_v3(
                _form_or_json(r), r.header("authorization"), self.now()), limited=False, root="/accounts"),
            self._api("GET", "/authen/v1/user_info", lambda r, who: self.oauth.user_info(who), auth=user),
            self._api("POST", "/authen/v1/oidc/access_token", lambda r, _: self.oauth.oidc_token(
                r.json_object(), self.now()), auth=app),
            Route("GET", r"/accounts/open-apis/authen/v1/authorize", self._authorize),
            Route(ANY, r"/(accounts/)?open-apis/.*", lambda r: text_response(404, "404 page not found")),
            *ControlApi(self).routes(),
        ]

    def _api(self, method: str, path: str, handler: Handler, *, auth: str | None = None, limited: bool = True,
             locked: bool = True, scope: str = "", root: str = "/open-apis") -> Route:
        """One OpenAPI route: count, faults, bearer, scope, limits, then the handler, answered like Feishu."""
        api = f"{method} {root}{path}"

        def run(request: Request) -> Response:
            try:
                principal = self._gate(api, request, auth, limited, scope)
                if locked:
                    with self.lock:
                        data = handler(request, principal)
                else:
                    data = handler(request, principal)
                return self._answer(200, _success(path, data), {})
            except FeishuError as exc:
                log_id = new_log_id()
                self.log("rejection", {"at": self.now(), "api": api, "status": exc.status, "code": exc.code,
                                       "reason": exc.reason})
                return self._answer(exc.status, exc.body(log_id), exc.headers, log_id)

        return Route(method, root + path, run)

    def _upload_image(self, request: Request) -> dict[str, Any]:
        """上传图片: ``image_type`` message or avatar and the file as ``image``; the 上传图片 error table's 234001
        (a field missing or wrong), 234010 (0 bytes), 234006 (over 10 MB) and 234011 (not a picture)."""
        if body_over(request, IMAGE_MAX_BYTES):
            raise api_error(234006, "The file size exceed the max value.", f"a body of {len(request.body)} bytes")
        parts = form(request)
        image = parts.get("image")
        if "image_type" not in parts or parts["image_type"].text not in ("message", "avatar") or image is None:
            raise api_error(234001, "Invalid request param.", "image_type (message|avatar) and image are required")
        if not image.data:
            raise api_error(234010, "File's size can't be 0.")
        if len(image.data) > IMAGE_MAX_BYTES:
            raise api_error(234006, "The file size exceed the max value.", f"{len(image.data)} bytes")
        found = sniff(image.data)
        if found is None:
            raise api_error(234011, "Can't regonnize the image format.")
        return {"image_key": self.media.put(image.data, found, self.now()).ref}

    def _gate(self, api: str, request: Request, auth: str | None, limited: bool, scope: str) -> Any:
        """Count the call, then faults, token, the app's scopes, per-app limits and the monthly budget."""
        self.admit(f"{request.method} {request.path}", request.path, fault_error)
        with self.lock:
            now = self.now()
            principal = self._bearer(request, auth, now) if auth else None
            if scope and scope not in self.app.scopes:
                raise scope_denied(scope)
            if limited:
                self.limits.check_app(api, now)
                self.limits.check_quota(now)
            return principal

    def _bearer(self, request: Request, kind: str, now: float) -> Any:
        header = request.header("authorization") or ""
        token = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
        if not token:
            raise api_error(99991661, MISSING_TOKEN, "no Bearer token")
        if token.startswith("u-"):
            if kind != "user":
                raise api_error(99991668, "user access token not support", "user token on an app-identity API")
            return self.oauth.user_of(token, now)
        if not token.startswith("t-"):
            raise api_error(99991671, "Invalid token: must start with t-/u-", "malformed token")
        if kind == "user":
            raise api_error(99991663, INVALID_TOKEN, "app-identity token where a user token is required")
        if kind == "app" and not self.app_tokens.valid(token, now):
            raise api_error(99991664, "invalid app token", "unknown or expired app_access_token")
        if kind == "tenant" and not self.tenant_tokens.valid(token, now):
            raise api_error(99991663, INVALID_TOKEN, "unknown or expired tenant_access_token")
        return None

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str], log_id: str = "") -> Response:
        return json_response(status, body, {"X-Tt-Logid": log_id or new_log_id(), **headers})

    def _credentials(self, request: Request) -> None:
        body = request.json_object()
        if not body.get("app_id") or not body.get("app_secret") or body.get("app_id") != self.app.app_id:
            raise token_error(10003, "invalid param")
        if body.get("app_secret") != self.app.app_secret:
            raise token_error(10014, "app secret invalid")

    def _token(self, request: Request, pool: TokenPool, name: str) -> dict[str, Any]:
        self._credentials(request)
        token, expire = pool.issue(self.now())
        return {name: token, "expire": expire}

    def _add_members(self, request: Request, _: Any) -> dict[str, Any]:
        """Outside the lock on purpose: a second add to the same chat meanwhile gets 232019."""
        with self.lock:
            group, ids = self.chats.begin_add(request.params["chat_id"], request.query, request.json_object())
        try:
            time.sleep(self.member_add_seconds)
            with self.lock:
                return self.chats.finish_add(group, ids, request.query)
        finally:
            with self.lock:
                self.chats.adding.discard(group.chat_id)

    def _preview(self, preview: Submitted) -> dict[str, Any]:
        """A previewed im/v1/messages body (or robot message) checked as sending it would be, not sent."""
        if preview.for_robot:
            return self.robots.preview(preview)
        try:
            return {"kind": "app", "message": self.messages.preview(
                preview.payload, preview.to, wire_size(preview.payload), self.now())}
        except FeishuError as exc:
            raise PreviewRefused(str(exc.code), str(exc.payload.get("msg")), exc.payload, exc.reason) from exc

    def _authorize(self, request: Request) -> Response:
        pairs = (part.strip().split("=", 1) for part in (request.header("cookie") or "").split(";") if "=" in part)
        cookies = dict(pairs)
        with self.lock:
            return self.oauth.authorize(request.query, cookies.get(COOKIE), self.now())


def _success(path: str, data: dict[str, Any]) -> dict[str, Any]:
    """Token answers carry their fields at the top level, the delayed update has no data, the rest wrap it."""
    if path.startswith("/auth/v3/"):
        return {"code": 0, "msg": "ok", **data}
    if path in ("/authen/v2/oauth/token", "/oauth/v3/token"):
        return data
    if path == "/interactive/v1/card/update":
        return {"code": 0, "msg": "ok"}
    return {"code": 0, "msg": "success", "data": data}


def _form_or_json(request: Request) -> dict[str, Any]:
    """The OAuth token endpoints take a form (recommended) or JSON."""
    if "x-www-form-urlencoded" in (request.header("content-type") or ""):
        return dict(parse_qsl(request.body.decode("utf-8")))
    return request.json_object()
