"""The suite's control surface (``/wecom/_sim/suite...``): the 服务商后台 and the organisations' admins.

- ``GET suite``: the console values; ``config`` is the body of dutybridge's ``PUT /providers/wecom-suite``.
- ``POST suite/console/callback-url {url, which?}``: saves the 指令回调 and 数据回调 URLs (``which``:
  ``both`` (default), ``instruction`` or ``data``) after WeCom's GET checks, signed with the suite's Token:
  both echostrs have receive id = the provider's CorpID (the data URL's ``$CORPID$`` filled in with it too);
  the reply must be the bare plaintext. Saving the instruction URL pushes a ticket and starts the 10-minute
  ticket schedule.
- ``POST suite/console/trusted-domain {domain}``: the suite's 可信域名 for web sign-in (no ownership file).
- ``POST suite/push-ticket``: one ``suite_ticket`` now (the console's 刷新ticket).
- ``POST suite/install {corp_id, state?, admin?}``: the organisation installs the app: an AuthCode pushed in
  ``create_auth``. ``POST suite/uninstall {corp_id}``: ``cancel_auth`` and the authorisation is revoked.
Instructions are POSTed to the instruction URL encrypted with the suite's key, receive id = SuiteID, outer
``ToUserName`` = SuiteID and an empty ``AgentID``; the app must answer the bare ``success``.
"""
from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from devkit.simulators.control import ControlError, control_post
from devkit.simulators.http import Request, Response, Route, json_response
from devkit.simulators.wecom.control import console_refusal
from devkit.simulators.wecom.push import push, verify_url, xml_message
from devkit.simulators.wecom.suite import Installation

if TYPE_CHECKING:
    from devkit.simulators.wecom.simulator import WeComSimulator

CREATE_AUTH_MS = 1000  # create_auth must be answered within 1000 ms
URL_CHECK_FAILED = "回调URL校验失败 (callback URL check failed)"


class SuiteControl:
    def __init__(self, sim: WeComSimulator) -> None:
        self.sim, self.service = sim, sim.suite
        self.ticker: threading.Thread | None = None

    def routes(self) -> list[Route]:
        return [
            Route("GET", r"/_sim/suite", self.values),
            control_post(r"/_sim/suite/console/callback-url", self.save_callback_url),
            control_post(r"/_sim/suite/console/trusted-domain", self.save_trusted_domain),
            control_post(r"/_sim/suite/push-ticket", lambda _r, _b: self.push_ticket()),
            control_post(r"/_sim/suite/install", self.install),
            control_post(r"/_sim/suite/uninstall", self.uninstall),
        ]

    def values(self, _request: Request) -> Response:
        with self.sim.lock:
            suite = self.service.suite
            return json_response(200, {"ok": True, "config": suite.config(self.sim.api_base), **suite.public()})

    def save_callback_url(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        url, which = str(body.get("url") or ""), str(body.get("which") or "both")
        if not url.startswith(("http://", "https://")):
            return {"ok": False, "error": "请填写正确的URL (not an http(s) URL)"}
        if which not in ("both", "instruction", "data"):
            raise ControlError(400, "which is both, instruction or data")
        suite, sim = self.service.suite, self.sim
        checked = {"instruction": url, "data": url.replace("$CORPID$", suite.provider_corp_id)}
        for kind in ("instruction", "data") if which == "both" else (which,):
            check = verify_url(checked[kind], self.service.crypt(suite.provider_corp_id), sim.now(),
                               timeout=sim.verify_timeout)
            refused = console_refusal(sim, check, f"{kind} {URL_CHECK_FAILED}")
            if refused:
                return refused
        with sim.lock:
            if which != "data":
                suite.instruction_url = url
            if which != "instruction":
                self.service.set_data_url(url)
        ticket = self.push_ticket() if which != "data" else None
        if ticket is not None:
            self._start_ticker()
        return {"ok": True, **suite.public(), "ticketPush": ticket}

    def save_trusted_domain(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        domain = str(body.get("domain") or "").strip()
        if not domain or "/" in domain:
            raise ControlError(400, "domain is a host with an optional port, e.g. app.example.com or 127.0.0.1:8000")
        with self.sim.lock:
            self.service.suite.trusted_domain = domain
            return {"ok": True, **self.service.suite.public()}

    def push_ticket(self) -> dict[str, Any]:
        sim, suite = self.sim, self.service.suite
        with sim.lock:
            self._instruction_url()
            now = sim.now()
            ticket = self.service.new_ticket(now)
            inner = xml_message({"SuiteId": suite.suite_id, "InfoType": "suite_ticket", "TimeStamp": int(now),
                                 "SuiteTicket": ticket})
        return {**self._instruct(inner, "suite_ticket"), "ticket": ticket}

    def install(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        sim, suite = self.sim, self.service.suite
        with sim.lock:
            org = self.service.orgs.get(str(body.get("corp_id") or ""))
            if org is None:
                raise ControlError(404, f"no corp {body.get('corp_id')!r}; corps: {', '.join(self.service.orgs)}")
            if self.service.active(org.corp_id):
                raise ControlError(409, f"{org.corp_name} has installed the app already")
            self._instruction_url()
            admin = str(body.get("admin") or next(iter(org.directory.users)))
            if admin not in org.directory.users:
                raise ControlError(404, f"no member {admin!r} in {org.corp_name}")
            now = sim.now()
            install, code = self.service.install(org, str(body.get("state") or ""), admin, now)
            inner = xml_message({"SuiteId": suite.suite_id, "AuthCode": code, "InfoType": "create_auth",
                                 "TimeStamp": int(now), "State": install.state})
        pushed = self._instruct(inner, "create_auth")
        answered = next((a for a in pushed["attempts"] if a["ok"]), None)
        return {**pushed, "corpId": org.corp_id, "agentId": org.suite_agent_id, "authCode": code,
                "slow": answered is not None and answered["latencyMs"] > CREATE_AUTH_MS}

    def uninstall(self, _request: Request, body: dict[str, Any]) -> dict[str, Any]:
        sim, suite = self.sim, self.service.suite
        with sim.lock:
            install: Installation | None = self.service.active(str(body.get("corp_id") or ""))
            if install is None:
                raise ControlError(404, f"{body.get('corp_id')!r} has not installed the app")
            now = sim.now()
            self.service.uninstall(install, now)
            inner = xml_message({"SuiteId": suite.suite_id, "InfoType": "cancel_auth", "TimeStamp": int(now),
                                 "AuthCorpId": install.org.corp_id})
            if suite.instruction_url is None:
                return {"ok": True, "attempts": [], "corpId": install.org.corp_id}
        return {**self._instruct(inner, "cancel_auth"), "corpId": install.org.corp_id}

    def contact_deleted(self, corp_id: str, userid: str) -> dict[str, Any]:
        """通讯录变更 → 删除成员 in an organisation that installed the app: InfoType change_contact on the
        指令回调 URL (the 第三方应用 通讯录回调通知 samples: SuiteId, AuthCorpId, InfoType, TimeStamp,
        ChangeType, UserID)."""
        with self.sim.lock:
            inner = xml_message({"SuiteId": self.service.suite.suite_id, "AuthCorpId": corp_id,
                                 "InfoType": "change_contact", "TimeStamp": int(self.sim.now()),
                                 "ChangeType": "delete_user", "UserID": userid})
        return self._instruct(inner, "change_contact")

    def _instruction_url(self) -> str:
        url = self.service.suite.instruction_url
        if url is None:
            raise ControlError(409, "no 指令回调 URL saved in the 服务商后台")
        return url

    def _instruct(self, inner: str, label: str) -> dict[str, Any]:
        """POST one instruction with WeCom's retries; the app must answer ``success``."""
        sim, suite = self.sim, self.service.suite
        with sim.lock:
            url = self._instruction_url()
        deliveries, response = push(url, self.service.crypt(suite.suite_id), suite.suite_id, "", inner, label,
                                    sim.now(), timeout=sim.callback_timeout, expect="success")
        for delivery in deliveries:
            sim.log("delivery", delivery.public())
        return {"ok": response is not None, "attempts": [d.public() for d in deliveries]}

    def _start_ticker(self) -> None:
        """WeCom pushes a fresh ticket every ``ticket_interval`` seconds (600) once the URL is saved."""
        interval = self.sim.ticket_interval
        if not interval or self.ticker is not None:
            return

        def tick() -> None:
            while True:
                time.sleep(interval)
                try:
                    self.push_ticket()
                except ControlError:
                    pass

        self.ticker = threading.Thread(target=tick, name="wecom-suite-ticket", daemon=True)
        self.ticker.start()
