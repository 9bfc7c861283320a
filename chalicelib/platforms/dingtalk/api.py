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
# 获取应用的 Access Token, POST /v1.0/oauth2/{corpId}/token (open.dingtalk.com/document/development/api-gettoken):
# its documented refusal of an app that does not run in the organisation (401 unauthorized.client), and the
# answer a published probe of the live endpoint (2026-09) got for an unknown corpId (HTTP 500 unknownError 未知错误).
CORP_REFUSED = ("unauthorized.client", "unknownError")
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
    hints={
        # 创建并投放卡片 error table: 模板不存在 / 模板未发布 / 卡片模板Id为空
        "param.templateNotExist": "卡片模板不存在：请在卡片平台复制模板 ID 填入 settings.card_template_id "
                                  "(no such card template: copy its id from the card builder)",
        "param.templateUnpublished": "卡片模板未发布：请在卡片平台发布模板 (the card template is not published yet)",
        "param.cardTemplateIdEmpty": "未填写卡片模板 ID (settings.card_template_id is empty)",
        "param.userIdNotExist": "该 userId 不是本组织成员，请重新关联成员 (not a member of this organisation: link the "
                                "member again)",
        # 获取应用的 Access Token (/v1.0/oauth2/{corpId}/token): the answers for an organisation the app is not in
        CORP_REFUSED[0]: "CorpId 与应用不符：请从开发者后台右上角复制 CorpId (the CorpId is not this app's "
                         "organisation: copy it from the console's avatar menu)",
        CORP_REFUSED[1]: "CorpId 与应用不符 (the CorpId is not this app's organisation)",
        "Forbidden.AccessDenied.AccessTokenPermissionDenied": "应用缺少接口权限：请在「权限管理」开通 (the app lacks "
                                                             "this API's permission: grant it under 权限管理)",
    },
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
