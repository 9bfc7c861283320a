"""The war room and mobile lookup: im/v1/chats (create), chats/{id}/members (add), users/batch_get_id.

Follows open.feishu.cn "创建群", "将用户或机器人拉入群聊" and "通过手机号或邮箱获取用户 ID": chat errors are
HTTP 400 with 232xxx codes; adding members to one chat while another add is running answers 232019.
batch_get_id answers every number or address it was given, with a ``user_id`` only for people the app may see.
"""
from __future__ import annotations

import secrets
from typing import Any

from devkit.simulators.feishu.gate import FeishuError, api_error, field_violation
from devkit.simulators.feishu.tenant import App, Directory, Group, User

USER_ID_TYPES = ("open_id", "union_id", "user_id")
MAX_LOOKUPS = 50


def _id_type(query: dict[str, str], name: str) -> str:
    id_type = query.get(name, "open_id")
    if id_type not in USER_ID_TYPES:
        raise field_violation(name, f"{name} must be one of {', '.join(USER_ID_TYPES)}")
    return id_type


def _strings(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise field_violation(name, f"{name} must be an array of strings")
    return value


def _unusable(unseen: list[str], missing: list[str], refused: dict[str, list[str]]) -> FeishuError:
    """The whole add refused over ids it cannot use (the error shows them, as succeed_type 2 promises)."""
    if unseen:
        error = api_error(232024, "Users do not have the visibility of the app, or the operator does not have "
                                  "collaboration permissions with the target users.", f"unusable ids {unseen}")
    else:
        error = api_error(99992351, f"these open ids not existed: {missing}", "unknown members")
    error.payload["data"] = refused
    return error


class Chats:
    """Groups the app creates or joins, and contact lookups. Callers hold the simulator lock."""

    def __init__(self, app: App, directory: Directory) -> None:
        self.app, self.directory = app, directory
        self.by_uuid: dict[str, str] = {}  # uuid -> chat_id
        self.adding: set[str] = set()  # chats with a member add under way

    def create(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        id_type, key = _id_type(query, "user_id_type"), query.get("uuid", "")
        if len(key) > MAX_LOOKUPS:
            raise field_violation("uuid", "uuid is at most 50 characters")
        if key in self.by_uuid:
            return self._answer(self.directory.groups[self.by_uuid[key]], id_type)
        name = body.get("name") or "群聊"
        if not isinstance(name, str):
            raise api_error(232001, "Your request contains an invalid request parameter.", "name must be a string")
        members = self._members(_strings(body, "user_id_list"), id_type)
        owner = body.get("owner_id")
        owner_user = self._members([owner], id_type)[0] if owner else None
        group = Group(name, list(dict.fromkeys(([owner_user] if owner_user else []) + members)),
                      owner_user or self.app.app_id, "oc_" + secrets.token_hex(16), bot_in_chat=True,
                      created_by_app=True, description=str(body.get("description") or ""))
        self.directory.groups[group.chat_id] = group
        if key:
            self.by_uuid[key] = group.chat_id
        return self._answer(group, id_type)

    def begin_add(self, chat_id: str, query: dict[str, str], body: dict[str, Any]) -> tuple[Group, list[str]]:
        """Check an add-members call and mark the chat busy; ``finish_add`` applies it."""
        if query.get("member_id_type", "open_id") not in (*USER_ID_TYPES, "app_id"):
            raise api_error(232015, "Your request specifies a member_id_type which is NOT supported.", "member_id_type")
        group = self.directory.groups.get(chat_id)
        if group is None:
            raise api_error(232006, "Your request specifies a chat_id which is invalid.", f"no chat {chat_id}")
        if group.dissolved:
            raise api_error(232009, "Your request specifies a chat which has already been dissolved.", "dissolved")
        if not group.bot_in_chat:
            raise api_error(232011, "Operator can NOT be out of the chat.", "bot not in the chat")
        if chat_id in self.adding:
            raise api_error(232019, "The request has been rate limited.", "concurrent member add on one chat")
        ids = _strings(body, "id_list")
        if not ids:
            raise api_error(232027, "There are no valid members in the ID list specified in your request.", "empty")
        self.adding.add(chat_id)
        return group, ids

    def finish_add(self, group: Group, ids: list[str], query: dict[str, str]) -> dict[str, Any]:
        """Add the ids the call may add; the caller clears ``adding`` for the chat whatever happens.

        ``succeed_type`` (the API doc, and oapi-sdk-go's ``SucceedType0/1/2``): 0, the default, skips
        resigned users (listed in ``invalid_id_list``) but fails the whole call on any other unusable id;
        1 adds every usable id and lists the others (resigned, outside the app's availability, malformed
        in ``invalid_id_list``, unknown in ``not_existed_id_list``); 2 fails on any unusable id."""
        succeed_type = query.get("succeed_type", "0")
        if succeed_type not in ("0", "1", "2"):
            raise field_violation("succeed_type", "succeed_type must be 0, 1 or 2")
        id_type = query.get("member_id_type", "open_id")
        resigned, unseen, missing, added = [], [], [], []
        for key in ids:
            user = self.directory.user(key, id_type)
            if user is None:
                (missing if self._well_formed(key, id_type) else unseen).append(key)
            elif user.resigned:
                resigned.append(key)
            elif not user.in_scope:
                unseen.append(key)
            else:
                added.append(user.open_id)
        refused = {"invalid_id_list": [key for key in ids if key in resigned or key in unseen],
                   "not_existed_id_list": missing}
        if succeed_type == "2" and (resigned or unseen or missing):
            raise _unusable(unseen or resigned, missing, refused)
        if succeed_type == "0" and (unseen or missing):
            raise _unusable(unseen, missing, refused)
        if not added and not set(ids) & set(self._ids_of(group, id_type)):
            raise api_error(232027, "There are no valid members in the ID list specified in your request.",
                            "no valid member")
        group.members = list(dict.fromkeys(group.members + added))
        return {**refused, "pending_approval_id_list": []}

    def batch_get_id(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        id_type = _id_type(query, "user_id_type")
        emails, mobiles = _strings(body, "emails"), _strings(body, "mobiles")
        for name, values in (("emails", emails), ("mobiles", mobiles)):
            if len(values) > MAX_LOOKUPS:
                raise field_violation(name, f"the max len is {MAX_LOOKUPS}")
        with_resigned = body.get("include_resigned") is True
        found = [("email", e, self.directory.by_email(e)) for e in emails]
        found += [("mobile", m, self.directory.by_mobile(m)) for m in mobiles]
        return {"user_list": [self._lookup(kind, value, user, id_type, with_resigned) for kind, value, user in found]}

    def _lookup(self, kind: str, value: str, user: User | None, id_type: str, with_resigned: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {kind: value}
        if user is not None and user.in_scope and (with_resigned or not user.resigned):
            entry["user_id"] = user.ids()[id_type]
            entry["status"] = {"is_frozen": False, "is_resigned": user.resigned, "is_activated": not user.resigned,
                               "is_exited": user.resigned, "is_unjoin": False}
        return entry

    def _members(self, ids: list[Any], id_type: str) -> list[str]:
        users = [self.directory.user(str(key), id_type) for key in ids]
        unknown = [str(key) for key, user in zip(ids, users, strict=True) if user is None]
        if unknown:
            raise api_error(99992351, f"these open ids not existed: {unknown}", "unknown members")
        if any(not u.in_scope for u in users if u):
            raise api_error(232024, "Users do not have the visibility of the app, or the operator does not have "
                                    "collaboration permissions with the target users.", "member outside availability")
        return [u.open_id for u in users if u]

    def _ids_of(self, group: Group, id_type: str) -> list[str]:
        return [self.directory.users[m].ids()[id_type] for m in group.members if m in self.directory.users]

    def _answer(self, group: Group, id_type: str) -> dict[str, Any]:
        owner = self.directory.users.get(group.owner)
        return {"chat_id": group.chat_id, "name": group.name, "description": group.description,
                "owner_id": owner.ids()[id_type] if owner else group.owner,
                "owner_id_type": id_type if owner else "app_id", "chat_mode": "group", "chat_type": "private",
                "chat_tag": "inner", "external": False, "tenant_key": self.app.tenant_key,
                "add_member_permission": "all_members", "share_card_permission": "allowed",
                "at_all_permission": "all_members", "edit_permission": "all_members"}

    @staticmethod
    def _well_formed(key: str, id_type: str) -> bool:
        prefix = {"open_id": "ou_", "union_id": "on_"}.get(id_type, "")
        return key.startswith(prefix)
