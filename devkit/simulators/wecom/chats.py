"""App group chats (应用群聊, the war room): ``appchat/create``, ``appchat/update``, ``appchat/send`` and
``appchat/get``.

``create`` takes 2..500 members, an optional owner (else a random member) and an optional ``chatid`` of at
most 32 ``[0-9a-zA-Z]`` that must not exist yet; the name is cut to 50 characters. ``send`` carries text,
markdown, textcard, news and media messages but no template cards. Callers hold the simulator lock.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from devkit.simulators.wecom.corp import Directory
from devkit.simulators.wecom.gate import WeComError
from devkit.simulators.wecom.messages import Message, Messages, message_payload, new_msgid

CHAT_TYPES = ("text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown")
CHAT_ID = re.compile(r"[0-9a-zA-Z]+")
MAX_NAME, MAX_CHAT_ID, MIN_MEMBERS, MAX_MEMBERS = 50, 32, 2, 500


@dataclass
class AppChat:
    chatid: str
    name: str
    owner: str
    userlist: list[str]
    created_at: float

    def info(self) -> dict[str, Any]:
        """``chat_info`` as ``appchat/get`` answers it."""
        return {"chatid": self.chatid, "name": self.name, "owner": self.owner, "userlist": list(self.userlist),
                "chat_type": 0}

    def public(self) -> dict[str, Any]:
        return {**self.info(), "createdAt": self.created_at}


class AppChats:
    """The group chats this app created, and their messages (kept with the app's other messages)."""

    def __init__(self, directory: Directory, messages: Messages) -> None:
        self.directory, self.messages = directory, messages
        self.chats: dict[str, AppChat] = {}

    def create(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        members = _members(body.get("userlist"), self.directory)
        owner = str(body.get("owner") or secrets.choice(members))
        if owner not in self.directory.users:
            raise WeComError(86005, "invalid owner", f"owner {owner} is not a member of the corp")
        if owner not in members:
            raise WeComError(86207, "owner not in userlist", f"owner {owner} is not in userlist")
        chatid = self._new_chat_id(body.get("chatid"))
        self.chats[chatid] = AppChat(chatid, str(body.get("name") or "")[:MAX_NAME], owner, members, now)
        return {"chatid": chatid}

    def _new_chat_id(self, wanted: Any) -> str:
        if wanted in (None, ""):
            return "wr" + secrets.token_hex(15)
        chatid = str(wanted)
        if not CHAT_ID.fullmatch(chatid):
            raise WeComError(86001, "invalid chatid", f"chatid {chatid!r} is not [0-9a-zA-Z]")
        if len(chatid) > MAX_CHAT_ID:
            raise WeComError(86205, "chatid too long", f"chatid longer than {MAX_CHAT_ID}")
        if chatid in self.chats:
            raise WeComError(86215, "chatid exists", f"chatid {chatid} exists already")
        return chatid

    def update(self, body: dict[str, Any]) -> dict[str, Any]:
        """Rename, change the owner, add and remove members; the chat keeps 2..500 members."""
        chat = self._chat(body.get("chatid"))
        added = _known(body.get("add_user_list") or [], self.directory)
        removed = set(map(str, body.get("del_user_list") or []))
        members = [u for u in dict.fromkeys(chat.userlist + added) if u not in removed]
        if not MIN_MEMBERS <= len(members) <= MAX_MEMBERS:
            raise WeComError(86006, "invalid userlist size", f"a chat holds {MIN_MEMBERS} to {MAX_MEMBERS} members")
        owner = str(body.get("owner") or chat.owner)
        if owner not in members:
            raise WeComError(86207, "owner not in userlist", f"owner {owner} is not in the chat")
        chat.userlist, chat.owner = members, owner
        if body.get("name"):
            chat.name = str(body["name"])[:MAX_NAME]
        return {}

    def send(self, body: dict[str, Any], now: float) -> dict[str, Any]:
        chat = self._chat(body.get("chatid"))
        msgtype, payload = message_payload(body, CHAT_TYPES)
        self.messages.store(Message(new_msgid(), f"chat:{chat.chatid}", "app", msgtype, dict(payload), now))
        return {}

    def get(self, query: dict[str, str]) -> dict[str, Any]:
        return {"chat_info": self._chat(query.get("chatid")).info()}

    def _chat(self, chatid: Any) -> AppChat:
        chat = self.chats.get(str(chatid or ""))
        if chat is None:
            raise WeComError(86003, "chatid not exist", f"no app chat {chatid!r}")
        return chat


def _members(userlist: Any, directory: Directory) -> list[str]:
    if not isinstance(userlist, list) or not MIN_MEMBERS <= len(set(map(str, userlist))) <= MAX_MEMBERS:
        raise WeComError(86006, "invalid userlist size", f"userlist must name {MIN_MEMBERS} to {MAX_MEMBERS} members")
    return _known(userlist, directory)


def _known(userlist: Any, directory: Directory) -> list[str]:
    """Unique userids in order; anyone outside the corp fails the call."""
    if not isinstance(userlist, list):
        raise WeComError(86007, "invalid chat member", "the member list must be an array")
    members = list(dict.fromkeys(map(str, userlist)))
    unknown = [u for u in members if u not in directory.users]
    if unknown:
        raise WeComError(86007, "invalid chat member", f"not in the corp: {', '.join(unknown)}")
    return members
