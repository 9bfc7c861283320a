"""Web sign-in (网页授权): open.weixin.qq.com's ``connect/oauth2/authorize`` and ``cgi-bin/auth/getuserinfo``.

The authorize step stands in for the WeCom client: it answers as the member named by ``sim_user``, else
the ``wecom_sim_user`` cookie the panel's "who am I" sets, else the member the last ``_sim/open-app`` opened
the app as; with nobody known it shows a chooser. The redirect_uri's host (with any port) must equal the
app's trusted domain exactly (50001). Codes are single-use and live 5 minutes; ``snsapi_privateinfo``
also yields a ``user_ticket`` (1800 s). Callers hold the simulator lock.
"""
from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from devkit.simulators.http import Response, text_response, with_query
from devkit.simulators.wecom_corp import Corp, Directory
from devkit.simulators.wecom_gate import WeComError

CODE_TTL, TICKET_TTL = 300, 1800
COOKIE = "wecom_sim_user"
SCOPES = ("snsapi_base", "snsapi_privateinfo")
STATE = re.compile(r"[a-zA-Z0-9]{0,128}")


@dataclass
class AuthCode:
    userid: str
    scope: str
    expires_at: float


def _page(title: str, body: str) -> Response:
    """WeCom shows problems with the link as a page in the client's browser."""
    return text_response(200, f"<!doctype html><meta charset=\"utf-8\"><title>企业微信 · {html.escape(title)}</title>"
                              f"<body style=\"font-family:sans-serif;margin:40px;color:#1f2329\">{body}</body>",
                         "text/html;charset=utf-8")


class OAuth:
    def __init__(self, corp: Corp, directory: Directory) -> None:
        self.corp, self.directory = corp, directory
        self.codes: dict[str, AuthCode] = {}
        self.consent_user: str | None = None  # set by _sim/open-app

    def authorize(self, query: dict[str, str], cookie_user: str | None, now: float) -> Response:
        problem = self._refusal(query)
        if problem:
            return _page("授权失败", f"<h3>无法打开链接 Cannot open this link</h3><p>{html.escape(problem)}</p>")
        user = self.directory.users.get(query.get("sim_user") or cookie_user or self.consent_user or "")
        if user is None:
            return self._chooser(query)
        code = secrets.token_urlsafe(48)
        self.codes[code] = AuthCode(user.userid, query["scope"], now + CODE_TTL)
        target = with_query(query["redirect_uri"], {"code": code, "state": query.get("state", "")})
        return Response(302, b"", {"Location": target, "Set-Cookie": f"{COOKIE}={user.userid}; Path=/; SameSite=Lax"})

    def _refusal(self, query: dict[str, str]) -> str | None:
        """Why WeCom would not go on with this authorize link, or None."""
        if query.get("appid") != self.corp.corp_id:
            return "40013 invalid corpid: appid 须为企业的 CorpID"
        if query.get("response_type") != "code" or query.get("scope") not in SCOPES:
            return "参数错误: response_type=code, scope=snsapi_base|snsapi_privateinfo"
        agentid = query.get("agentid", "")
        if (agentid or query["scope"] == "snsapi_privateinfo") and agentid != self.corp.agent_id:
            return f"40056 invalid agentid: {agentid or '(missing; snsapi_privateinfo needs it)'}"
        if not STATE.fullmatch(query.get("state", "")):
            return "84025 state 须为 [a-zA-Z0-9]，不超过 128 字节 (invalid state)"
        host = urlsplit(query.get("redirect_uri", "")).netloc
        if not host or host != self.corp.trusted_domain:
            return (f"50001 redirect_uri 与应用可信域名不一致 (redirect_url not trusted): {host or '(none)'} vs "
                    f"{self.corp.trusted_domain or '(no trusted domain set)'}")
        return None

    def user_info(self, code: str | None, now: float) -> dict[str, Any]:
        """``GET /cgi-bin/auth/getuserinfo``: the member behind a code, spent either way."""
        if not code:
            raise WeComError(41008, "missing code", "code is required")
        grant = self.codes.pop(code, None)
        if grant is None or grant.expires_at <= now:
            raise WeComError(40029, "invalid code", "unknown, used or expired code")
        answer: dict[str, Any] = {"userid": grant.userid}
        if grant.scope == "snsapi_privateinfo":
            answer.update(user_ticket=secrets.token_urlsafe(48), expires_in=TICKET_TTL)
        return answer

    def _chooser(self, query: dict[str, str]) -> Response:
        links = "".join(f"<li><a href=\"?{html.escape(urlencode({**query, 'sim_user': u.userid}))}\">"
                        f"{html.escape(u.name)} ({html.escape(u.userid)})</a></li>"
                        for u in self.directory.users.values())
        return _page("选择成员", f"<h3>以哪位成员打开 {html.escape(self.corp.app_name)}？ Who opens the app?</h3><ul>{links}</ul>")
