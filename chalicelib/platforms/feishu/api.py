"""Feishu/Lark Open API calls and error conventions (open.feishu.cn: 服务端错误码, 频控策略).

Bodies carry ``{"code", "msg"}``; throttling is HTTP 429 (some legacy APIs 400) with
``x-ogw-ratelimit-reset`` seconds and code 99991400. Token codes follow lark-oapi's channel layer.
"""
from __future__ import annotations

from chalicelib.platforms import http
from chalicelib.platforms.errortable import ErrorTable

NAME = "feishu"
ERRORS = ErrorTable(
    NAME,
    token=frozenset({"99991661", "99991663", "99991664", "99991665", "99991666", "99991668", "99991671"}),
    # 230020 is the per-receiver / per-message 5/s limit (answered with HTTP 400, not 429);
    # 232019: another member operation on the same chat is still running
    throttle=frozenset({"99991400", "99991402", "11232", "11020", "11021", "230020", "232019"}),
    quota=frozenset({"99991403"}),
    retry=frozenset({"1500", "55001", "99991401"}),
    gone=frozenset({"230002", "230005", "230017", "230013", "232011", "232025"}),
    hints={  # 发送消息 error table (open.feishu.cn, im/v1/messages) and 服务端错误码
        "230013": "用户不在应用的可用范围：请在开发者后台「可用范围」加入 (the user is outside the app's availability: "
                  "add them under 版本管理与发布 → 可用范围)",
        "230002": "机器人不在该群：请先把应用机器人拉进群 (the bot is not in this chat: add it to the group first)",
        "99991672": "应用缺少权限：请在「权限管理」开通并发布版本 "
                    "(the app lacks a scope: grant it and publish a version)",
    },
)


def _reset_seconds(headers: dict) -> float | None:
    for name, value in headers.items():
        if name.lower() == "x-ogw-ratelimit-reset" and str(value).strip().isdigit():
            return max(1.0, float(value))
    return None


def call(method: str, url: str, token: str | None, body: dict | None = None, params: dict | None = None,
         files: dict | None = None) -> dict:
    """One Open API call; a non-zero ``code`` (even inside HTTP 200) raises the classified error. With
    ``files`` the body goes as multipart form fields beside them (im/v1/images)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    payload = {"data": body, "files": files} if files else {"json": body}
    answer = http.call(NAME, method, url, params=params, headers=headers, **payload)
    code = str(answer.data.get("code", 0 if answer.status < 300 else f"http{answer.status}"))
    if code != "0" or answer.status >= 300:
        raise ERRORS.classify(code, str(answer.data.get("msg", "")), answer.status, _reset_seconds(answer.headers))
    return answer.data
