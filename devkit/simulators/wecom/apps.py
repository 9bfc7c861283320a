"""One app as it reaches one corp: the home corp's self-built app, or the suite's app in a corp that installed it.

An API call reaches the view its ``access_token`` belongs to (each view has its own token family, AgentId,
members, cards and response codes); a click or a member's message reaches the view holding that card or member.
Callbacks go to the view's callback URL, encrypted with its crypt (receive id = the corp's CorpID).
Callers hold the simulator lock.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.platforms.msgcrypt import MsgCrypt
from devkit.simulators.tokens import TokenFamily
from devkit.simulators.wecom.chats import AppChats
from devkit.simulators.wecom.corp import Corp, Directory, User
from devkit.simulators.wecom.gate import WeComError
from devkit.simulators.wecom.messages import Message, Messages, check_agent

SELF_BUILT, SUITE = "self_built", "suite"


@dataclass
class AppView:
    kind: str  # SELF_BUILT or SUITE
    corp: Corp  # the app's record in that corp: CorpID, AgentId, callback URL
    directory: Directory
    messages: Messages
    crypt: MsgCrypt
    tokens: TokenFamily
    chats: AppChats | None = None  # app group chats (appchat/*) are for self-built apps only

    def detail(self, agentid: str) -> dict[str, Any]:
        """获取指定的应用详情 (GET cgi-bin/agent/get, developer.work.weixin.qq.com/document/path/90227): the
        documented fields; "企业仅可获取当前凭证对应的应用", so any other AgentId is 40056 不合法的agentid, as
        message/send answers it. Every member is in the app's visible range (no departments or tags here)."""
        check_agent(self.corp, {"agentid": agentid})
        return {"agentid": int(agentid), "name": self.corp.app_name, "square_logo_url": "", "description": "",
                "allow_userinfos": {"user": [{"userid": userid} for userid in self.directory.users]},
                "allow_partys": {"partyid": []}, "allow_tags": {"tagid": []}, "close": 0,
                "redirect_domain": self.corp.trusted_domain, "report_location_flag": 0, "isreportenter": 0,
                "home_url": ""}

    def app_chats(self) -> AppChats:
        if self.chats is None:
            raise WeComError(48002, "api forbidden", "appchat/* is only for self-built apps")
        return self.chats


def view_for_token(views: list[AppView], token: str | None, now: float) -> AppView:
    """The view an access_token belongs to, or WeCom's refusal of the token."""
    if not token:
        raise WeComError(41001, "access_token missing")
    for view in views:
        status = view.tokens.status(token, now)
        if status == "ok":
            return view
        if status == "expired":
            raise WeComError(42001, "access_token expired")
    raise WeComError(40014, "invalid access_token")


def narrowed(views: list[AppView], body: dict[str, Any]) -> list[AppView]:
    """A control call's views: with ``corp_id``, only the suite's app in that corp; else every view, home first."""
    corp_id = str(body.get("corp_id") or "")
    return [v for v in views if v.kind == SUITE and v.corp.corp_id == corp_id] if corp_id else views


def member_view(views: list[AppView], userid: str) -> tuple[AppView, User] | None:
    return next(((v, v.directory.users[userid]) for v in views if userid in v.directory.users), None)


def card_view(views: list[AppView], userid: str, task_id: str) -> tuple[AppView, User, Message] | None:
    return next(((v, v.directory.users[userid], v.messages.cards[(userid, task_id)]) for v in views
                 if (userid, task_id) in v.messages.cards), None)
