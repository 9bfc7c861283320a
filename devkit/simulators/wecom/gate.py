"""What WeCom's gateway does around an API: its refusals, trusted IPs, frequency limits and faults.

Every answer is HTTP 200 with ``errcode``/``errmsg`` (only the injected ``http500`` fault is not). A
refusal's errmsg carries WeCom's ``hint: [...]``, the caller's IP and the devtool link, and the same code
and message come back in the ``Error-Code``/``Error-Msg`` response headers, as live answers show.
Sources are in simulator.py's header.
"""
from __future__ import annotations

import secrets
from typing import Any

from devkit.simulators.http import Response, json_response, text_response
from devkit.simulators.ratelimit import window

FAULT_KINDS = ("busy", "45009", "45033", "token_invalid", "timeout", "http500")
MORE_INFO = "https://open.work.weixin.qq.com/devtool/query?e="
WRONG_JSON = "Warning: wrong json format. "
MINUTE, DAY = 60, 86400  # a per-minute breach blocks 60 s; getuserid's anti-abuse block lasts a day


class WeComError(Exception):
    """A refused call: WeCom's errcode and English errmsg, plus any fields the API adds (invaliduser)."""

    def __init__(self, errcode: int, errmsg: str, reason: str = "", *, status: int = 200, **extra: Any) -> None:
        super().__init__(errcode)
        self.errcode, self.errmsg, self.status, self.extra = errcode, errmsg, status, extra
        self.reason = reason or errmsg  # why the simulator refused, for the state log only

    def response(self, client: str, prefix: str = "") -> Response:
        if self.status != 200:
            return text_response(self.status, "<html><body><h1>500 Internal Server Error</h1></body></html>",
                                 "text/html")
        errmsg = (f"{prefix}{self.errmsg}, hint: [{secrets.randbelow(10 ** 25):025d}], from ip: {client}, "
                  f"more info at {MORE_INFO}{self.errcode}")
        return json_response(200, {"errcode": self.errcode, "errmsg": errmsg, **self.extra},
                             {"Error-Code": str(self.errcode), "Error-Msg": errmsg})


def invalid_parameter(detail: str) -> WeComError:
    """40058, WeCom's generic parameter refusal; the detail says which field."""
    return WeComError(40058, f"invalid parameter: {detail}", detail)


def fault_error(kind: str) -> WeComError:
    return {
        "busy": WeComError(-1, "system busy", "injected busy"),
        "45009": WeComError(45009, "api freq out of limit", "injected 45009"),
        "45033": WeComError(45033, "api concurrent out of limit", "injected 45033"),
        "token_invalid": WeComError(40014, "invalid access_token", "injected token_invalid"),
        "http500": WeComError(-1, "system busy", "injected http500", status=500),
    }[kind]


class Limits:
    """Per-API calls per minute (45009, then blocked for 60 s) and the per-member message windows
    (30 a minute and 1000 an hour from one app; excess is dropped without an error)."""

    def __init__(self, api_per_minute: int = 10000, member_per_minute: int = 30, member_per_hour: int = 1000,
                 mobile_miss_ratio: float | None = None, window_style: str | None = None) -> None:
        self.api_minute = window(api_per_minute, MINUTE, window_style)
        self.member_minute = window(member_per_minute, MINUTE, window_style)
        self.member_hour = window(member_per_hour, 3600, window_style)
        self.mobile_miss_ratio = mobile_miss_ratio  # 0.2 turns on getuserid's anti-abuse block
        self.mobile_misses = 0
        self.blocked_until: dict[str, float] = {}

    def check_api(self, api: str, now: float) -> None:
        if self.blocked_until.get(api, 0.0) > now:
            raise WeComError(45009, "api freq out of limit", f"{api} blocked until {self.blocked_until[api]:.0f}")
        if self.api_minute.hit(api, now):
            self.blocked_until[api] = now + MINUTE
            raise WeComError(45009, "api freq out of limit", f"{api}: over {self.api_minute.limit} calls a minute")

    def member_drop(self, userid: str, now: float) -> str | None:
        """Count one message to a member; why it is dropped, or None when it is delivered."""
        over_minute, over_hour = self.member_minute.hit(userid, now), self.member_hour.hit(userid, now)
        if over_minute:
            return f"over {self.member_minute.limit} messages a minute"
        return f"over {self.member_hour.limit} messages an hour" if over_hour else None

    def mobile_miss(self, licensed: int, now: float) -> None:
        """An unknown mobile looked up; past the ratio of the licensed headcount getuserid is blocked a day."""
        self.mobile_misses += 1
        if self.mobile_miss_ratio is not None and self.mobile_misses > self.mobile_miss_ratio * licensed:
            self.blocked_until["POST /cgi-bin/user/getuserid"] = now + DAY

    def configure(self, body: dict[str, Any]) -> None:
        if "windowStyle" in body:  # "fixed" or "sliding": the counts start afresh
            self.api_minute, self.member_minute, self.member_hour = (
                window(counter.limit, counter.seconds, body["windowStyle"])
                for counter in (self.api_minute, self.member_minute, self.member_hour))
        for name, counter in (("apiPerMinute", self.api_minute), ("memberPerMinute", self.member_minute),
                             ("memberPerHour", self.member_hour)):
            if name in body:
                counter.limit = int(body[name])
        if "mobileMissRatio" in body:
            ratio = body["mobileMissRatio"]
            self.mobile_miss_ratio = None if ratio is None else float(ratio)

    def public(self) -> dict[str, Any]:
        return {"windowStyle": self.api_minute.style,
                "apiPerMinute": self.api_minute.limit, "memberPerMinute": self.member_minute.limit,
                "memberPerHour": self.member_hour.limit, "mobileMissRatio": self.mobile_miss_ratio,
                "mobileMisses": self.mobile_misses, "blockedUntil": dict(self.blocked_until)}
