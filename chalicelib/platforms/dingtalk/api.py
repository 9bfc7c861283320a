"""DingTalk's two API families and their error conventions (open.dingtalk.com: 服务端 API 错误码,
新版服务端 API 调用说明).

- New API (api.dingtalk.com): token in header ``x-acs-dingtalk-access-token``; errors are a
  non-2xx status with ``{"code", "message", "requestid"}``.
- Old API (oapi.dingtalk.com): token in ``?access_token=``; errors are HTTP 200 with a non-zero
  ``errcode``, sometimes wrapped as errcode 88 with the real code in ``sub_code``.
"""
from __future__ import annotations

from chalicelib.platforms import http
from chalicelib.platforms.errortable import ErrorTable

NAME = "dingtalk"
ERRORS = ErrorTable(
    NAME,
    token=frozenset({"40001", "40014", "42001", "33001",
                     "InvalidAuthentication", "AuthenticationFailed.MissingParameter"}),
    throttle=frozenset({"90018", "90002", "90005", "90006"}),
    throttle_prefixes=("Forbidden.AccessDenied.QpsLimit",),
    quota=frozenset({"90020", "Forbidden.AccessDenied.ApiCountLimitForOrg"}),
    # -1 系统繁忙 and 88004 are DingTalk server errors: another try later goes through
    retry=frozenset({"-1", "88004", "system.busy", "system.error", "system.updateCallbackFailed"}),
    gone=frozenset({"param.userIdNotExist", "60121", "60003"}),
)
classify = ERRORS.classify


def new_api(method: str, base: str, path: str, token: str | None, body: dict) -> dict:
    headers = {"x-acs-dingtalk-access-token": token} if token else {}
    answer = http.call(NAME, method, base + path, json=body, headers=headers)
    if answer.status >= 300:
        code = str(answer.data.get("code") or f"http{answer.status}")
        raise classify(code, str(answer.data.get("message", "")), answer.status)
    return answer.data


def old_api(method: str, base: str, path: str, params: dict, body: dict | None = None,
            files: dict | None = None) -> dict:
    """An old-style call; with ``files`` the body goes as multipart form fields beside them (media/upload)."""
    payload = {"data": body, "files": files} if files else {"json": body}
    answer = http.call(NAME, method, base + path, params=params, **payload)
    if answer.status >= 300 and "errcode" not in answer.data:
        raise classify(f"http{answer.status}", "unexpected HTTP status", answer.status)
    code = str(answer.data.get("errcode", 0))
    if code == "88" and answer.data.get("sub_code"):
        raise classify(str(answer.data["sub_code"]), str(answer.data.get("sub_msg", "")))
    if code != "0":
        raise classify(code, str(answer.data.get("errmsg", "")))
    return answer.data
