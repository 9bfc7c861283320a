"""Web sign-in (网页授权): open.weixin.qq.com's ``connect/oauth2/authorize`` and the code exchanges,
``cgi-bin/auth/getuserinfo`` for the self-built app and ``cgi-bin/service/auth/getuserinfo3rd`` for the suite.

The authorize step stands in for the WeCom client: it answers as the member named by ``sim_user``, else
the ``wecom_sim_user`` cookie the panel's "who am I" sets, else the member the last ``_sim/open-app`` opened
the app as; with nobody known it shows a chooser. The redirect_uri's host (with any port) must equal the
app's trusted domain exactly (50001). Codes are single-use and live 5 minutes; ``snsapi_privateinfo``
also yields a ``user_ticket`` (1800 s). An authorize link with ``appid`` = the SuiteID signs in a member of
any corp that installed the suite, and only getuserinfo3rd takes its code (with the member's ``corpid``).
Callers hold the simulator lock.
"""
from __future__ import annotations

import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

from devkit.simulators.http import Response, text_response, with_query
from devkit.simulators.wecom.corp import Corp, Directory, Suite, User
from devkit.simulators.wecom.gate import WeComError

CODE_TTL, TICKET_TTL = 300, 1800
COOKIE = "wecom_sim_user"
SCOPES = ("snsapi_base", "snsapi_privateinfo")
STATE = re.compile(r"[a-zA-Z0-9]{0,128}")


@dataclass
class AuthCode:
    userid: str
    scope: str
    expires_at: float
    corp_id: str


def _page(title: str, body: str) -> Response:
    """WeCom shows problems with the link as a page in the client's browser."""
    return text_response(200, f"<!doctype html><meta charset=\"utf-8\"><title>企业微信 · {html.escape(title)}</title>"
                              f"<body style=\"font-family:sans-serif;margin:40px;color:#1f2329\">{body}</body>",
                         "text/html;charset=utf-8")


class WebSignIn:
    """What both sign-ins share; a subclass names the app, its members and its own link checks."""

    app_name = ""

    def __init__(self) -> None:
        self.codes: dict[str, AuthCode] = {}
        self.consent_user: str | None = None  # set by _sim/open-app

    def _app_refusal(self, query: dict[str, str]) -> str | None:
        raise NotImplementedError

    def _trusted_domain(self) -> str:
        raise NotImplementedError

    def _people(self) -> dict[str, tuple[str, User]]:
        """userid → (CorpID, member) of everyone who can sign in to this app."""
        raise NotImplementedError

    def _answer(self, grant: AuthCode) -> dict[str, Any]:
        return {"userid": grant.userid}

    def authorize(self, query: dict[str, str], cookie_user: str | None, now: float) -> Response:
        problem = self._refusal(query)
        if problem:
            return _page("授权失败", f"<h3>无法打开链接 Cannot open this link</h3><p>{html.escape(problem)}</p>")
        people = self._people()
        chosen = people.get(query.get("sim_user") or cookie_user or self.consent_user or "")
        if chosen is None:
            return self._chooser(query, people)
        corp_id, user = chosen
        code = secrets.token_urlsafe(48)
        self.codes[code] = AuthCode(user.userid, query["scope"], now + CODE_TTL, corp_id)
        target = with_query(query["redirect_uri"], {"code": code, "state": query.get("state", "")})
        return Response(302, b"", {"Location": target, "Set-Cookie": f"{COOKIE}={user.userid}; Path=/; SameSite=Lax"})

    def _refusal(self, query: dict[str, str]) -> str | None:
        """Why WeCom would not go on with this authorize link, or None."""
        problem = self._app_refusal(query)
        if problem:
            return problem
        if query.get("response_type") != "code" or query.get("scope") not in SCOPES:
            return "参数错误: response_type=code, scope=snsapi_base|snsapi_privateinfo"
        if not STATE.fullmatch(query.get("state", "")):
            return "84025 state 须为 [a-zA-Z0-9]，不超过 128 字节 (invalid state)"
        host, trusted = urlsplit(query.get("redirect_uri", "")).netloc, self._trusted_domain()
        if not host or host != trusted:
            return (f"50001 redirect_uri 与应用可信域名不一致 (redirect_url not trusted): {host or '(none)'} vs "
                    f"{trusted or '(no trusted domain set)'}")
        return None

    def user_info(self, code: str | None, now: float) -> dict[str, Any]:
        """The member behind a code, spent either way."""
        if not code:
            raise WeComError(41008, "missing code", "code is required")
        grant = self.codes.pop(code, None)
        if grant is None or grant.expires_at <= now:
            raise WeComError(40029, "invalid code", "unknown, used or expired code")
        answer = self._answer(grant)
        if grant.scope == "snsapi_privateinfo":
            answer.update(user_ticket=secrets.token_urlsafe(48), expires_in=TICKET_TTL)
        return answer

    def _chooser(self, query: dict[str, str], people: dict[str, tuple[str, User]]) -> Response:
        links = "".join(f"<li><a href=\"?{html.escape(urlencode({**query, 'sim_user': userid}))}\">"
                        f"{html.escape(user.name)} ({html.escape(userid)} · {html.escape(corp_id)})</a></li>"
                        for userid, (corp_id, user) in people.items())
        return _page("选择成员",
                     f"<h3>以哪位成员打开 {html.escape(self.app_name)}？ Who opens the app?</h3><ul>{links}</ul>")


class OAuth(WebSignIn):
    """The home corp's self-built app: ``appid`` = CorpID, ``agentid`` = its AgentId, ``auth/getuserinfo``."""

    def __init__(self, corp: Corp, directory: Directory) -> None:
        super().__init__()
        self.corp, self.directory = corp, directory
        self.app_name = corp.app_name

    def _app_refusal(self, query: dict[str, str]) -> str | None:
        if query.get("appid") != self.corp.corp_id:
            return "40013 invalid corpid: appid 须为企业的 CorpID"
        agentid = query.get("agentid", "")
        if (agentid or query.get("scope") == "snsapi_privateinfo") and agentid != self.corp.agent_id:
            return f"40056 invalid agentid: {agentid or '(missing; snsapi_privateinfo needs it)'}"
        return None

    def _trusted_domain(self) -> str:
        return self.corp.trusted_domain

    def _people(self) -> dict[str, tuple[str, User]]:
        return {u.userid: (self.corp.corp_id, u) for u in self.directory.users.values()}


class SuiteOAuth(WebSignIn):
    """The suite's app: ``appid`` = SuiteID, no agentid, the suite's trusted domain, members of the corps that
    installed it (``people``), answered by ``service/auth/getuserinfo3rd`` with the member's ``corpid``."""

    def __init__(self, suite: Suite, people: Callable[[], dict[str, tuple[str, User]]]) -> None:
        super().__init__()
        self.suite, self.people = suite, people
        self.app_name = suite.name

    def _app_refusal(self, query: dict[str, str]) -> str | None:
        return None if query.get("appid") == self.suite.suite_id else "40086 invalid suite appid"

    def _trusted_domain(self) -> str:
        return self.suite.trusted_domain

    def _people(self) -> dict[str, tuple[str, User]]:
        return self.people()

    def _answer(self, grant: AuthCode) -> dict[str, Any]:
        return {"corpid": grant.corp_id, "userid": grant.userid,
                "open_userid": open_userid(self.suite.provider_corp_id, grant.corp_id, grant.userid)}


def open_userid(provider: str, corp_id: str, userid: str) -> str:
    """A member's id as one service provider sees it: stable, 32 characters, ``wo``-prefixed (shape only)."""
    return "wo" + hashlib.sha256(f"{provider}:{corp_id}:{userid}".encode()).hexdigest()[:30]
