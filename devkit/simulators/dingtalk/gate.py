"""What DingTalk's gateway does before an API runs: errors, tokens, QPS and quota limits, faults.

Error shapes (see the header of simulator.py for sources):
- new API (api.dingtalk.com): non-2xx HTTP with ``{"code", "requestid", "message"}``;
- old API (oapi.dingtalk.com): HTTP 200 with ``{"errcode", "errmsg", "request_id"}``; token problems on
  ``topapi`` arrive wrapped as ``errcode 88`` with a string ``sub_code``.
"""
from __future__ import annotations

from typing import Any

from devkit.simulators.dingtalk.org import new_oapi_request_id, new_request_id
from devkit.simulators.ratelimit import MonthlyQuota, window

FAULT_KINDS = ("http500", "timeout", "qps", "quota", "errcode88")


class ApiError(Exception):
    """A new-API failure: HTTP status + string code."""

    def __init__(self, status: int, code: str, message: str | None = None, reason: str = "",
                 **extra: Any) -> None:
        super().__init__(code)
        self.status, self.code = status, code
        self.message = message if message is not None else code  # card APIs echo the code as message
        self.reason = reason  # why the simulator refused, for the state log only
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "requestid": new_request_id(), "message": self.message, **self.extra}


class OapiError(Exception):
    """An old-API failure, always delivered in an HTTP 200 body."""

    def __init__(self, errcode: int, errmsg: str, sub_code: str | None = None, reason: str = "") -> None:
        super().__init__(errcode)
        self.errcode, self.errmsg, self.sub_code, self.reason = errcode, errmsg, sub_code, reason

    def body(self, with_request_id: bool = True) -> dict[str, Any]:
        if self.sub_code is None:
            body: dict[str, Any] = {"errcode": self.errcode, "errmsg": self.errmsg}
        else:
            body = {"errcode": 88, "sub_code": self.sub_code, "sub_msg": self.errmsg,
                    "errmsg": f"ding talk error[subcode={self.sub_code},submsg={self.errmsg}]"}
        if with_request_id:
            body["request_id"] = new_oapi_request_id()
        return body


def scope_denied(new: bool, scope: str) -> ApiError | OapiError:
    """The app lacks a 权限管理 permission: the new API answers 403 naming the missing scope
    ("接口调用没有权限" best practice), topapi errcode 88 with sub_code 60011."""
    if new:
        return ApiError(403, "Forbidden.AccessDenied.AccessTokenPermissionDenied",
                        "没有调用该接口的权限，接口权限申请参考：https://open.dingtalk.com/document/orgapp-server/"
                        "add-api-permission", reason=f"{scope} not granted",
                        accessdenieddetail={"requiredScopes": [scope]})
    return OapiError(88, f"no permission to use this api, scope={scope} "
                         f"https://open-dev.dingtalk.com/appscope/apply?content={scope}", sub_code="60011",
                     reason=f"{scope} not granted")


def token_refused(sub_code: str, sub_msg: str) -> OapiError:
    """topapi wraps token errors in errcode 88 (probe: 88 / sub_code "40014" / 不合法的access_token)."""
    return OapiError(88, sub_msg, sub_code=sub_code)


NEW_INVALID_TOKEN = ("InvalidAuthentication", "不合法的access_token")
NEW_MISSING_TOKEN = ("AuthenticationFailed.MissingParameter", "缺少参数：x-acs-dingtalk-access-token")


def new_fault_error(kind: str) -> ApiError:
    return {
        "http500": ApiError(500, "system.busy"),
        "qps": ApiError(403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
                        "当前应用调用该接口的频率超过了限流阈值"),
        "quota": ApiError(403, "Forbidden.AccessDenied.ApiCountLimitForOrg", "企业调用接口的次数已超过本月额度"),
        "errcode88": ApiError(400, *NEW_INVALID_TOKEN),
    }[kind]


def old_fault_error(kind: str) -> OapiError:
    return {
        "http500": OapiError(-1, "系统繁忙"),
        "qps": OapiError(90018, "当前应用调用该接口的频率超过了限流阈值"),
        "quota": OapiError(90020, "企业调用接口的次数已超过本月额度"),
        "errcode88": token_refused("40014", "不合法的access_token"),
    }[kind]


class Limits:
    """Per-app per-API QPS and the org's monthly call budget."""

    def __init__(self, qps_limit: int, monthly_quota: int | None, window_style: str | None = None) -> None:
        self.qps = window(qps_limit, 1, window_style)
        self.quota = MonthlyQuota(monthly_quota)

    @property
    def qps_limit(self) -> int:
        return self.qps.limit

    @qps_limit.setter
    def qps_limit(self, value: int) -> None:
        self.qps.limit = value

    @property
    def monthly_quota(self) -> int | None:
        return self.quota.limit

    @monthly_quota.setter
    def monthly_quota(self, value: int | None) -> None:
        self.quota.limit = value

    def qps_exceeded(self, api: str, now: float) -> bool:
        return self.qps.hit(api, now)

    def quota_exceeded(self, now: float) -> bool:
        return self.quota.spend(now)

    def public(self) -> dict[str, Any]:
        return {"qpsLimit": self.qps_limit, "windowStyle": self.qps.style, "quota": self.quota.public()}
