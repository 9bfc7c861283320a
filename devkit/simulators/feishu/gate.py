"""What Feishu's gateway does around an API: error bodies, access tokens, rate limits, faults.

Error shapes (sources in simulator.py's header):
- OpenAPI: non-2xx HTTP (400 for business and token errors, 429 for throttling) with
  ``{"code", "msg", "error": {"log_id"}}`` and an ``X-Tt-Logid`` header;
- ``auth/v3/*_access_token/internal``: HTTP 200 with ``{"code", "msg"}``, even on failure;
- ``oauth/v3/token`` and ``authen/v2/oauth/token``: HTTP 400 with OAuth's ``{"code", "error", "error_description"}``.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from devkit.simulators.ratelimit import FixedWindow, MonthlyQuota, SlidingWindow, chosen_style, window

TOKEN_TTL = 7200
REFRESH_WINDOW = 1800  # asking with less than 30 minutes left yields a new token; both stay valid
FAULT_KINDS = ("http500", "timeout", "ratelimit", "token_invalid")
MISSING_TOKEN = "Missing access token for authorization. Please make a request with token attached."
INVALID_TOKEN = "Invalid access token for authorization. Please make a request with token attached."


class FeishuError(Exception):
    """A refused call: the HTTP status and body Feishu answers with."""

    def __init__(self, status: int, payload: dict[str, Any], reason: str = "",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(payload.get("code"))
        self.status, self.payload, self.headers = status, payload, headers or {}
        self.reason = reason  # why the simulator refused, for the state log only

    @property
    def code(self) -> Any:
        return self.payload.get("code")

    def body(self, log_id: str) -> dict[str, Any]:
        if "error" not in self.payload or not isinstance(self.payload["error"], dict):
            return dict(self.payload)
        return {**self.payload, "error": {**self.payload["error"], "log_id": log_id}}


def api_error(code: int, msg: str, reason: str = "", status: int = 400, **error: Any) -> FeishuError:
    return FeishuError(status, {"code": code, "msg": msg, "error": dict(error)}, reason)


def scope_denied(scope: str) -> FeishuError:
    """The app has not been granted a scope the API needs (权限管理)."""
    return api_error(99991672, f"Access denied. One of the following scopes is required: [{scope}].",
                     f"{scope} not granted", permission_violations=[{"type": "action_scope_required",
                                                                      "subject": scope}])


def invalid_param(ext: str, code: int = 230001) -> FeishuError:
    """IM's parameter error: the detail follows ``ext=`` in msg."""
    return api_error(code, f"Your request contains an invalid request parameter, ext={ext}.", ext)


def field_violation(name: str, description: str) -> FeishuError:
    return api_error(99992402, "field validation failed", f"{name}: {description}",
                     field_violations=[{"field": name, "description": description}])


def token_error(code: int, msg: str) -> FeishuError:
    """The token endpoints answer HTTP 200 whatever happened."""
    return FeishuError(200, {"code": code, "msg": msg, **({"data": {}} if code == 10003 else {})}, msg)


def oauth_error(code: int, error: str, description: str, status: int = 400) -> FeishuError:
    return FeishuError(status, {"code": code, "error": error, "error_description": description}, description)


def rate_limited(limit: int, reset: int, reason: str) -> FeishuError:
    return FeishuError(429, {"code": 99991400, "msg": "request trigger frequency limit", "error": {}}, reason,
                       {"x-ogw-ratelimit-limit": str(limit), "x-ogw-ratelimit-reset": str(reset)})


def fault_error(kind: str) -> FeishuError:
    if kind == "http500":
        return api_error(55001, "server internal error", "injected http500", status=500)
    if kind == "ratelimit":
        return rate_limited(50, 1, "injected ratelimit")
    return api_error(99991663, INVALID_TOKEN, "injected token_invalid")


class TokenPool:
    """One kind of app credential token (tenant or app): the 30-minute rule, expiry by the clock."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.current: str | None = None
        self.expires_at: dict[str, float] = {}

    def issue(self, now: float) -> tuple[str, int]:
        """The token to hand out and its remaining life in seconds."""
        if self.current is None or self.expires_at[self.current] - now < REFRESH_WINDOW:
            self.current = self.prefix + secrets.token_hex(20)
            self.expires_at[self.current] = now + TOKEN_TTL
        return self.current, int(self.expires_at[self.current] - now)

    def valid(self, token: str, now: float) -> bool:
        return self.expires_at.get(token, 0.0) > now


@dataclass
class UserToken:
    open_id: str
    scope: str
    expires_at: float


@dataclass
class Limits:
    """Feishu's windows (settable): per app per API, per receiver, per message, and a monthly budget."""

    app_per_second: int = 50
    app_per_minute: int = 1000
    per_receiver_per_second: int = 5
    per_message_per_second: int = 5
    monthly_quota: int | None = None  # base edition: 10,000 calls a month
    delayed_update_uses: int = 2
    window_style: str | None = None  # "fixed" or "sliding" (default: RATE_WINDOWS, else fixed)
    _windows: dict[str, FixedWindow | SlidingWindow] = field(default_factory=dict)
    _quota: MonthlyQuota = field(default_factory=lambda: MonthlyQuota(None))

    def _window(self, name: str, limit: int, seconds: int) -> FixedWindow | SlidingWindow:
        counter = self._windows.get(name) or self._windows.setdefault(name, window(limit, seconds, self.window_style))
        counter.limit = limit
        return counter

    def check_app(self, api: str, now: float) -> None:
        for limit, seconds in ((self.app_per_second, 1), (self.app_per_minute, 60)):
            window = self._window(f"app{seconds}", limit, seconds)
            if window.hit(api, now):
                raise rate_limited(limit, window.reset_in(now), f"{api}: over {limit} calls per {seconds} s")

    def check_receiver(self, receiver: str, now: float) -> None:
        if self._window("receiver", self.per_receiver_per_second, 1).hit(receiver, now):
            raise api_error(230020, "This operation triggers the frequency limit.",
                            f"{receiver}: over {self.per_receiver_per_second} messages per second")

    def check_message(self, message_id: str, now: float) -> None:
        if self._window("message", self.per_message_per_second, 1).hit(message_id, now):
            raise api_error(230020, "This operation triggers the frequency limit.",
                            f"{message_id}: over {self.per_message_per_second} updates per second")

    def check_quota(self, now: float) -> None:
        self._quota.limit = self.monthly_quota
        if self._quota.spend(now):
            raise api_error(99991403, "This month's API call quota has been exceeded", "monthly quota spent")

    def public(self) -> dict[str, Any]:
        return {"appPerSecond": self.app_per_second, "appPerMinute": self.app_per_minute,
                "perReceiverPerSecond": self.per_receiver_per_second,
                "perMessagePerSecond": self.per_message_per_second, "delayedUpdateUses": self.delayed_update_uses,
                "windowStyle": chosen_style(self.window_style), "quota": self._quota.public()}
