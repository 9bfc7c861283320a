"""WeCom (企业微信) API calls and error codes (developer.work.weixin.qq.com: 全局错误码, 频率限制).

Every answer is HTTP 200 with ``errcode``/``errmsg``; 45009 blocks for the rest of the window
(60 s for a per-minute breach), 45033 asks for a short jittered wait.
"""
from __future__ import annotations

from chalicelib.common.errors import PlatformError
from chalicelib.platforms import http
from chalicelib.platforms.errortable import ErrorTable

NAME = "wecom"
HINTS = {  # seed 003 FAQ and the global errcode table
    "60020": "调用来源 IP 不在企业可信IP中 (caller IP is not in the app's 企业可信IP list; add the egress IPs)",
    "50001": "重定向域名与可信域名不一致 (redirect domain is not the app's trusted domain)",
    "40001": "Secret 错误或应用未授权 (wrong Secret, or the app is not installed: authorize app first)",
    # 全局错误码 40056 不合法的agentid (WxJava WxCpErrorMsgEnum: 检查agentid是否为空，是否真实存在)
    "40056": "AgentId 与 Secret 不属于同一应用 (AgentId is not the app of this Secret: copy both from "
             "应用管理 → 应用)",
    "81013": "成员不在应用可见范围 (the member is not in the app's visible range: 应用管理 → 可见范围)",
}
ERRORS = ErrorTable(
    NAME,
    token=frozenset({"40014", "42001", "41001", "40082", "42009"}),  # 40082/42009: the suite's token
    throttle=frozenset({"45009", "45033"}),
    retry=frozenset({"-1"}),
    gone=frozenset({"81013", "46004", "60111", "60103", "86003"}),
    hints=HINTS,
)
THROTTLE_DELAY = {"45009": 60.0, "45033": 2.0}
AGENT_UNKNOWN = "40056"  # agent/get or message/send naming an AgentId that is not the token's app


def classify(code: str, message: str) -> PlatformError:
    return ERRORS.classify(code, message, retry_after=THROTTLE_DELAY.get(code))


def call(method: str, url: str, token: str | None, body: dict | None = None, params: dict | None = None,
         files: dict | None = None) -> dict:
    """One API call; a non-zero ``errcode`` inside the HTTP 200 raises the classified error. ``files``: a
    multipart upload (media/uploadimg) instead of a JSON body."""
    query = {**(params or {}), **({"access_token": token} if token else {})}
    payload = {"files": files} if files else {"json": body}
    answer = http.call(NAME, method, url, params=query, **payload)
    code = str(answer.data.get("errcode", 0 if answer.status < 300 else f"http{answer.status}"))
    if code != "0" or answer.status >= 300:
        raise classify(code, str(answer.data.get("errmsg", "")))
    return answer.data
