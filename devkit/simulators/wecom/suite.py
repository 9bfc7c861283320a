"""The service provider's suite (第三方应用) as WeCom runs it: tickets, suite tokens, organisations' installs,
and the ``cgi-bin/service`` APIs.

- ``suite_ticket``: pushed to the 指令回调URL; each lives 30 minutes and every live one of the latest few is
  accepted by ``get_suite_token`` (→ ``suite_access_token``, 7200 s, the same token while valid).
- An install mints an AuthCode (single-use, 5 minutes) pushed in ``create_auth``; ``get_permanent_code`` spends
  it and answers the permanent code, a corp ``access_token``, ``auth_corp_info``, ``auth_info.agent`` and
  ``auth_user_info``.
- ``get_corp_token`` {auth_corpid, permanent_code} → that corp's ``access_token``: it works on the normal APIs
  as the suite's app in that corp (its own AgentId, members, cards and response codes; no appchat).
- ``service/auth/getuserinfo3rd`` takes the code of an authorize link with ``appid`` = the SuiteID.
- ``cancel_auth`` revokes: the permanent code (40084) and the corp's tokens (40014) stop working.
Sources and unconfirmed choices are in simulator.py's header. Callers hold the simulator lock.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from chalicelib.platforms.msgcrypt import MsgCrypt
from devkit.simulators.tokens import TokenFamily
from devkit.simulators.wecom.apps import SUITE, AppView
from devkit.simulators.wecom.corp import Corp, Org, Suite, User
from devkit.simulators.wecom.gate import Limits, WeComError
from devkit.simulators.wecom.messages import Messages
from devkit.simulators.wecom.oauth import SuiteOAuth, open_userid

TOKEN_TTL, TICKET_TTL, AUTH_CODE_TTL, TICKETS_KEPT = 7200, 1800, 300, 3


@dataclass
class Installation:
    """One organisation's authorisation of the suite, and the suite's app as installed there."""

    org: Org
    view: AppView
    permanent_code: str
    admin: str  # the member who installed it (auth_user_info)
    state: str  # the state of the install link, echoed in create_auth
    installed_at: float
    code_bought: bool = False  # get_permanent_code answered
    cancelled_at: float | None = None

    @property
    def active(self) -> bool:
        return self.cancelled_at is None

    def public(self, now: float) -> dict[str, Any]:
        return {"corpId": self.org.corp_id, "corpName": self.org.corp_name, "agentId": self.view.corp.agent_id,
                "admin": self.admin, "state": self.state, "installedAt": self.installed_at, "active": self.active,
                "cancelledAt": self.cancelled_at, "permanentCodeBought": self.code_bought,
                "callbackUrl": self.view.corp.callback_url, **self.view.messages.public(now)}


@dataclass
class AuthCode:
    corp_id: str
    expires_at: float


def _required(body: dict[str, Any], name: str, missing: int) -> str:
    value = str(body.get(name) or "")
    if not value:
        raise WeComError(missing, f"{name} missing", f"{name} is required")
    return value


class SuiteService:
    def __init__(self, suite: Suite, orgs: list[Org]) -> None:
        self.suite = suite
        self.orgs = {org.corp_id: org for org in orgs}
        self.tickets: list[tuple[str, float]] = []  # (ticket, pushed at), newest last
        self.tokens = TokenFamily()
        self.auth_codes: dict[str, AuthCode] = {}
        self.installs: dict[str, Installation] = {}  # by CorpID; a re-install replaces the cancelled one
        self.oauth = SuiteOAuth(suite, self.members)

    def crypt(self, receive_id: str) -> MsgCrypt:
        return MsgCrypt(self.suite.token, self.suite.encoding_aes_key, receive_id)

    def active(self, corp_id: str) -> Installation | None:
        install = self.installs.get(corp_id)
        return install if install is not None and install.active else None

    def views(self) -> list[AppView]:
        return [i.view for i in self.installs.values() if i.active]

    def members(self) -> dict[str, tuple[str, User]]:
        return {u.userid: (v.corp.corp_id, u) for v in self.views() for u in v.directory.users.values()}

    def data_url(self, corp_id: str) -> str | None:
        """The 数据回调URL as pushes to one corp use it ($CORPID$ is filled in)."""
        url = self.suite.data_url
        return url.replace("$CORPID$", corp_id) if url else None

    def set_data_url(self, url: str) -> None:
        self.suite.data_url = url
        for install in self.installs.values():
            install.view.corp.callback_url = self.data_url(install.org.corp_id)

    # -- what the console and the organisations do ----------------------------------------------------------------
    def new_ticket(self, now: float) -> str:
        ticket = secrets.token_urlsafe(48)
        self.tickets = [*self.tickets, (ticket, now)][-TICKETS_KEPT:]
        return ticket

    def install(self, org: Org, state: str, admin: str, now: float) -> tuple[Installation, str]:
        """The organisation's admin agrees to the authorisation: the app appears in its corp; an AuthCode."""
        app = Corp(corp_id=org.corp_id, corp_name=org.corp_name, agent_id=org.suite_agent_id, app_name=self.suite.name,
                   secret="", token=self.suite.token, encoding_aes_key=self.suite.encoding_aes_key,
                   callback_url=self.data_url(org.corp_id), verify_file="", verify_content="")
        view = AppView(SUITE, app, org.directory, Messages(app, org.directory, Limits()), self.crypt(org.corp_id),
                       TokenFamily())
        install = Installation(org, view, secrets.token_urlsafe(32), admin, state, now)
        self.installs[org.corp_id] = install
        code = secrets.token_urlsafe(48)
        self.auth_codes[code] = AuthCode(org.corp_id, now + AUTH_CODE_TTL)
        return install, code

    def uninstall(self, install: Installation, now: float) -> None:
        install.cancelled_at = now

    # -- cgi-bin/service APIs ---------------------------------------------------------------------------------------
    def suite_token(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        """``POST service/get_suite_token``."""
        if _required(body, "suite_id", 41021) != self.suite.suite_id:
            raise WeComError(40083, "invalid suite_id", f"no suite {body['suite_id']}")
        if _required(body, "suite_secret", 41024) != self.suite.suite_secret:
            raise WeComError(40080, "invalid suite_secret", "wrong suite_secret")
        ticket = _required(body, "suite_ticket", 41023)
        pushed = dict(self.tickets).get(ticket)
        if pushed is None or now - pushed >= TICKET_TTL:
            raise WeComError(40085, "invalid suite_ticket", "unknown, superseded or older than 30 minutes")
        return {"suite_access_token": self.tokens.issue(now), "expires_in": TOKEN_TTL}

    def check_token(self, token: str | None, now: float) -> None:
        status = self.tokens.status(token, now)
        if status == "missing":
            raise WeComError(41022, "suite_access_token missing")
        if status == "expired":
            raise WeComError(42009, "suite_access_token expired")
        if status == "unknown":
            raise WeComError(40082, "invalid suite_token")

    def permanent_code(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        """``POST service/get_permanent_code``: spends the AuthCode."""
        grant = self.auth_codes.pop(_required(body, "auth_code", 41008), None)
        install = self.active(grant.corp_id) if grant is not None and grant.expires_at > now else None
        if install is None:
            raise WeComError(40078, "invalid auth_code", "unknown, used or expired auth_code (5 min, single use)")
        install.code_bought = True
        org, agent, admin = install.org, install.view.corp, install.org.directory.users.get(install.admin)
        return {"access_token": install.view.tokens.issue(now), "expires_in": TOKEN_TTL,
                "permanent_code": install.permanent_code, "state": install.state,
                "auth_corp_info": {"corpid": org.corp_id, "corp_name": org.corp_name, "corp_type": "verified",
                                   "corp_square_logo_url": "", "corp_user_max": 200, "corp_full_name": org.corp_name,
                                   "subject_type": 1, "corp_scale": "1-50人", "corp_industry": "IT服务",
                                   "corp_sub_industry": "计算机软件/硬件/信息服务"},
                "auth_info": {"agent": [{"agentid": int(agent.agent_id), "name": agent.app_name,
                                         "square_logo_url": "", "round_logo_url": "", "is_customized_app": False,
                                         "privilege": {"level": 1, "allow_party": [1], "allow_user": [],
                                                       "allow_tag": [], "extra_party": [], "extra_user": [],
                                                       "extra_tag": []}}]},
                "auth_user_info": {"userid": install.admin, "name": admin.name if admin else "", "avatar": "",
                                   "open_userid": open_userid(self.suite.provider_corp_id, org.corp_id,
                                                              install.admin)}}

    def corp_token(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        """``POST service/get_corp_token``."""
        install = self.active(_required(body, "auth_corpid", 41002))
        code = _required(body, "permanent_code", 41025)
        if install is None or code != install.permanent_code:
            raise WeComError(40084, "invalid permanent_code", "wrong code, or the corp cancelled the authorisation")
        return {"access_token": install.view.tokens.issue(now), "expires_in": TOKEN_TTL}

    def user_info(self, code: str | None, now: float) -> dict[str, Any]:
        """``GET service/auth/getuserinfo3rd``."""
        return self.oauth.user_info(code, now)

    def public(self, now: float) -> dict[str, Any]:
        spaces = {f"3rd:{corp_id}:{space}": messages for corp_id, install in self.installs.items() if install.active
                  for space, messages in install.view.messages.public(now)["spaces"].items()}
        return {**self.suite.public(), "spaces": spaces,
                "tickets": [{"ticket": t, "pushedAt": at, "live": now - at < TICKET_TTL} for t, at in self.tickets],
                "orgs": [{**org.public(), "install": self.installs[cid].public(now) if cid in self.installs else None}
                         for cid, org in self.orgs.items()]}
