"""DingTalk's two API families and their error conventions (platform-protocols.md §1.1, §1.8).

- New API (api.dingtalk.com): token in header ``x-acs-dingtalk-access-token``; errors are a
  non-2xx status with ``{"code", "message", "requestid"}``.
- Old API (oapi.dingtalk.com): token in ``?access_token=``; errors are HTTP 200 with a non-zero
  ``errcode``, sometimes wrapped as errcode 88 with the real code in ``sub_code``.
"""
from __future__ import annotations

from chalicelib.errors import (Permanent, PlatformError, QuotaExhausted, RateLimited, Retryable,
                               TargetGone, TokenInvalid)
from chalicelib.platforms import http

NAME = "dingtalk"
TOKEN_CODES = {"40001", "40014", "42001", "33001"}
THROTTLE_CODES = {"90018", "90002", "90005", "90006"}
QUOTA_CODES = {"90020", "Forbidden.AccessDenied.ApiCountLimitForOrg"}
RETRY_CODES = {"-1", "system.busy", "system.error", "system.updateCallbackFailed"}
GONE_CODES = {"param.userIdNotExist", "60121", "60003"}
NEW_TOKEN_CODES = {"InvalidAuthentication", "Unauthorized", "InvalidAccessToken"}


def classify(code: str, message: str, status: int = 200) -> PlatformError:
    """Map one DingTalk error code to the project's retry/permanent classes."""
    if code in TOKEN_CODES or code in NEW_TOKEN_CODES or status == 401:
        return TokenInvalid(NAME, code, message)
    if code in THROTTLE_CODES or code.startswith("Forbidden.AccessDenied.QpsLimit"):
        return RateLimited(NAME, code, message, retry_after=1.0)
    if code in QUOTA_CODES:
        return QuotaExhausted(NAME, code, message)
    if code in RETRY_CODES or status >= 500:
        return Retryable(NAME, code, message)
    if code in GONE_CODES:
        return TargetGone(NAME, code, message)
    return Permanent(NAME, code, message)


def new_api(method: str, base: str, path: str, token: str | None, body: dict) -> dict:
    headers = {"x-acs-dingtalk-access-token": token} if token else {}
    answer = http.call(NAME, method, base + path, json=body, headers=headers)
    if answer.status >= 300:
        code = str(answer.data.get("code") or f"http{answer.status}")
        raise classify(code, str(answer.data.get("message", "")), answer.status)
    return answer.data


def old_api(method: str, base: str, path: str, params: dict, body: dict | None = None) -> dict:
    answer = http.call(NAME, method, base + path, params=params, json=body)
    if answer.status >= 300 and "errcode" not in answer.data:
        raise classify(f"http{answer.status}", "unexpected HTTP status", answer.status)
    code = str(answer.data.get("errcode", 0))
    if code == "88" and answer.data.get("sub_code"):
        raise classify(str(answer.data["sub_code"]), str(answer.data.get("sub_msg", "")))
    if code != "0":
        raise classify(code, str(answer.data.get("errmsg", "")))
    return answer.data
