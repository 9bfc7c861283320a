"""Web-app login: accounts.feishu.cn's authorize page, the code exchange, and the user's identity.

The code is exchanged at accounts.feishu.cn/oauth/v3/token (current) or open-apis/authen/v2/oauth/token
(deprecated, still served): the same request and answer, except that v3 holds PKCE to its meaning (a
``code_verifier`` without a ``code_challenge`` at authorization is refused) and takes the client's secret
either in the body (client_secret_post) or as HTTP Basic (client_secret_basic), never both.

The authorize page stands in for the user's consent: it answers as the user named by ``sim_user`` (open_id
or short key), else the ``lark_sim_user`` cookie the panel's "who am I" sets, else the user the last
``_sim/open-app`` opened the app as; with nobody known it shows a chooser. Codes are single-use, 5 minutes.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from devkit.simulators.feishu.gate import TOKEN_TTL, UserToken, api_error, oauth_error
from devkit.simulators.feishu.tenant import App, Directory, User
from devkit.simulators.http import Response, text_response

CODE_TTL = 300
COOKIE = "lark_sim_user"
CODE_NOT_FOUND = ("The authorization code is not found. Please note that an authorization code can only be "
                  "used once.")


@dataclass
class AuthCode:
    open_id: str
    redirect_uri: str
    scope: str
    expires_at: float
    code_challenge: str = ""
    challenge_method: str = "plain"


def _page(status: int, title: str, body: str) -> Response:
    return text_response(status, f"<!doctype html><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                                 f"<body style=\"font-family:sans-serif;margin:40px\">{body}</body>",
                         "text/html;charset=utf-8")


def _basic_client(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) of an ``Authorization: Basic`` header (client_secret_basic), if any."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, ValueError):
        raise oauth_error(20002, "invalid_client", "The client credentials are malformed.") from None
    return client_id, secret


def _check_pkce(grant: AuthCode, verifier: Any, strict: bool) -> None:
    """RFC 7636: a challenge needs its verifier; v3 also refuses a verifier no challenge asked for."""
    if not grant.code_challenge:
        if verifier and strict:
            raise oauth_error(20001, "invalid_request", "code_verifier was sent but no code_challenge was.")
        return
    answer = str(verifier or "")
    if grant.challenge_method == "S256":
        answer = base64.urlsafe_b64encode(hashlib.sha256(answer.encode()).digest()).rstrip(b"=").decode()
    if not verifier or not hmac.compare_digest(answer, grant.code_challenge):
        raise oauth_error(20001, "invalid_grant", "The code_verifier does not match the code_challenge.")


def with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


class OAuth:
    """Authorization codes and user access tokens of the tenant. Callers hold the simulator lock."""

    def __init__(self, app: App, directory: Directory) -> None:
        self.app, self.directory = app, directory
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, UserToken] = {}
        self.consent_user: str | None = None  # set by _sim/open-app

    def authorize(self, query: dict[str, str], cookie_user: str | None, now: float) -> Response:
        if query.get("client_id") != self.app.app_id:
            return _page(400, "飞书授权", "<h3>授权失败</h3><p>client_id 无效：应用不存在 (invalid client_id)</p>")
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.app.redirect_urls:
            return _page(400, "飞书授权", "<h3>授权失败</h3><p>错误码：20029 redirect_uri 请求不合法</p>")
        if query.get("response_type") != "code":
            return _page(400, "飞书授权", "<h3>授权失败</h3><p>response_type 只支持 code</p>")
        user = self.directory.person(query.get("sim_user") or cookie_user or self.consent_user or "")
        if user is None:
            return self._chooser(query)
        code = secrets.token_urlsafe(48)
        self.codes[code] = AuthCode(user.open_id, redirect_uri, query.get("scope", ""), now + CODE_TTL,
                                    query.get("code_challenge", ""), query.get("code_challenge_method", "plain"))
        target = with_query(redirect_uri, {"code": code, **({"state": query["state"]} if "state" in query else {})})
        return Response(302, b"", {"Location": target, "Set-Cookie": f"{COOKIE}={user.open_id}; Path=/; SameSite=Lax"})

    def token_v2(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        """``POST /open-apis/authen/v2/oauth/token`` (deprecated): a code_verifier nobody asked for passes."""
        return self._exchange(body, now, strict_pkce=False)

    def token_v3(self, body: dict[str, Any], authorization: str | None, now: float) -> dict[str, Any]:
        """``POST accounts.feishu.cn/oauth/v3/token`` (authorization_code grant)."""
        basic = _basic_client(authorization)
        if basic and body.get("client_secret"):
            raise oauth_error(20070, "invalid_request", "Only one client authentication method may be used.")
        if basic:
            body = {**body, "client_id": basic[0], "client_secret": basic[1]}
        return self._exchange(body, now, strict_pkce=True)

    def _exchange(self, body: dict[str, Any], now: float, *, strict_pkce: bool) -> dict[str, Any]:
        if body.get("grant_type") != "authorization_code" or not body.get("code") or not body.get("client_id"):
            raise oauth_error(20001, "invalid_request", "grant_type authorization_code, client_id and code required")
        if (body.get("client_id"), body.get("client_secret")) != (self.app.app_id, self.app.app_secret):
            raise oauth_error(20002, "invalid_client", "The client secret is invalid.")
        grant = self._take_code(str(body["code"]), now, oauth=True)
        if body.get("redirect_uri", grant.redirect_uri) != grant.redirect_uri:
            raise oauth_error(20071, "invalid_grant", "The redirect_uri does not match the authorization request.")
        _check_pkce(grant, body.get("code_verifier"), strict_pkce)
        user = self._permitted(grant.open_id, oauth=True)
        token, expires_in = self._mint(user, grant.scope, now)
        answer = {"code": 0, "access_token": token, "expires_in": expires_in, "token_type": "Bearer",
                  "scope": grant.scope}
        if "offline_access" in grant.scope.split():
            answer.update(refresh_token="ur-" + secrets.token_hex(20), refresh_token_expires_in=604800)
        return answer

    def oidc_token(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        """``POST /open-apis/authen/v1/oidc/access_token`` (bearer: app_access_token)."""
        if body.get("grant_type") != "authorization_code" or not body.get("code"):
            raise api_error(20001, "invalid request", "grant_type authorization_code and code are required")
        grant = self._take_code(str(body["code"]), now, oauth=False)
        user = self._permitted(grant.open_id, oauth=False)
        token, expires_in = self._mint(user, grant.scope, now)
        return {"access_token": token, "refresh_token": "ur-" + secrets.token_hex(20), "token_type": "Bearer",
                "expires_in": expires_in, "refresh_expires_in": 2592000, "scope": grant.scope}

    def user_of(self, token: str, now: float) -> User:
        """The user behind a ``u-`` bearer token, or Feishu's refusal."""
        grant = self.tokens.get(token)
        if grant is None:
            raise api_error(99991668, "Invalid access token for authorization. Please make a request with token "
                                      "attached.", "unknown user access token")
        if grant.expires_at <= now:
            raise api_error(99991677, "token expire", "user access token expired")
        return self.directory.users[grant.open_id]

    def user_info(self, user: User) -> dict[str, Any]:
        avatar = f"https://s1-imfile.feishucdn.com/static-resource/v1/sim_{user.key}"
        return {"name": user.name, "en_name": user.en_name, "avatar_url": avatar, "avatar_thumb": avatar,
                "avatar_middle": avatar, "avatar_big": avatar, "email": user.email, "enterprise_email": "",
                "mobile": user.mobile, "tenant_key": self.app.tenant_key, "employee_no": "", **user.ids()}

    def _take_code(self, code: str, now: float, *, oauth: bool) -> AuthCode:
        grant = self.codes.pop(code, None)  # single use: gone whatever happens next
        if grant is None:
            raise (oauth_error(20003, "invalid_grant", CODE_NOT_FOUND) if oauth
                   else api_error(20003, "invalid request with code", "unknown or used code"))
        if grant.expires_at <= now:
            raise (oauth_error(20004, "invalid_grant", "The authorization code has expired.") if oauth
                   else api_error(20004, "expired code", "expired code"))
        return grant

    def _permitted(self, open_id: str, *, oauth: bool) -> User:
        user = self.directory.users[open_id]
        if user.in_scope and not user.resigned:
            return user
        description = "The user has no permission to use the app."
        raise oauth_error(20010, "access_denied", description) if oauth else api_error(20010, "user not visible to app")

    def _mint(self, user: User, scope: str, now: float) -> tuple[str, int]:
        token = "u-" + secrets.token_hex(20)
        self.tokens[token] = UserToken(user.open_id, scope, now + TOKEN_TTL)
        return token, TOKEN_TTL

    def _chooser(self, query: dict[str, str]) -> Response:
        links = "".join(
            f"<li><a href=\"?{html.escape(urlencode({**query, 'sim_user': u.open_id}))}\">{html.escape(u.name)} "
            f"({html.escape(u.key)})</a></li>" for u in self.directory.users.values())
        return _page(200, "飞书授权",
                     f"<h3>以谁的身份授权 {html.escape(self.app.name)}？ Who is signing in?</h3><ul>{links}</ul>")
