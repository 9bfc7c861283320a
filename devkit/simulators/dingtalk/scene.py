"""Scene groups (场景群): the incident war room, created from the org's group template.

Follows open.dingtalk.com "创建场景群" / "添加场景群成员" / "查询群简要信息": errors are HTTP 400 with the
Chinese messages of the docs' tables; a repeated ``uuid`` returns the group created the first time. The
query answers for the app's scene groups and for groups where its cool app is installed (the two kinds
of openConversationId the doc names), its fields at the top level as in the SDK's response body.
"""
from __future__ import annotations

import uuid
from typing import Any

from devkit.simulators.dingtalk.gate import ApiError
from devkit.simulators.dingtalk.org import Directory, Group, Org, chat_id_for, conversation_id_for

MAX_MEMBERS = 1000
MAX_TITLE = 30


def invalid(reason: str) -> ApiError:
    return ApiError(400, "parameter.invalid", "输入参数错误", reason=reason)


def member_not_found(userid: str) -> ApiError:
    return ApiError(400, "member.notFound", "不存在的员工", reason=f"{userid} is not in the org")


def _ids(body: dict[str, Any], name: str) -> list[Any]:
    value = body.get(name) or []
    if not isinstance(value, list):
        raise invalid(f"{name} must be an array")
    return value


class SceneGroups:
    """Creates groups in the org's directory. Callers hold the simulator lock."""

    def __init__(self, org: Org, directory: Directory) -> None:
        self.org, self.directory = org, directory
        self.by_uuid: dict[str, str] = {}  # uuid -> openConversationId

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        title, template_id, owner = body.get("title"), body.get("template_id"), body.get("owner_user_id")
        if not title or not isinstance(title, str) or len(title) > MAX_TITLE:
            raise invalid(f"title is required and at most {MAX_TITLE} characters")
        if not template_id or not owner:
            raise invalid("template_id and owner_user_id are required")
        if template_id != self.org.scene_group_template_id:
            raise ApiError(400, "groupTemplate.notFound", "群模板不存在或者已下线", reason=f"no template {template_id}")
        members = self._resolve([owner, *_ids(body, "user_ids"), *_ids(body, "subadmin_ids")], 1)
        if len(members) > MAX_MEMBERS:
            raise ApiError(400, "member.exceed", "群成员数量超出限制")
        key = str(body.get("uuid") or "")
        if key in self.by_uuid:
            return self._answer(self.directory.groups[self.by_uuid[key]])
        seed = str(uuid.uuid4())
        group = Group(title, members, members[0], conversation_id_for(seed), chat_id_for(seed), scene=True)
        self.directory.add_group(group)
        if key:
            self.by_uuid[key] = group.open_conversation_id
        return self._answer(group)

    def add_members(self, body: dict[str, Any]) -> dict[str, Any]:
        group = self.directory.groups.get(str(body.get("open_conversation_id") or ""))
        if group is None:
            raise invalid("open_conversation_id is missing or unknown")
        if not group.scene:
            raise ApiError(400, "permession.checkFailed", "权限校验失败", reason="not a scene group of this app")
        if not body.get("user_ids") and not body.get("union_ids"):
            raise invalid("user_ids or union_ids is required")
        added = self._resolve(_ids(body, "user_ids"), 1) + self._resolve(_ids(body, "union_ids"), 2)
        members = list(dict.fromkeys(group.members + added))
        if len(members) > MAX_MEMBERS:
            raise ApiError(400, "member.exceed", "群成员数量超出限制")
        group.members = members
        return {"success": True}

    def query(self, body: dict[str, Any]) -> dict[str, Any]:
        conversation = body.get("openConversationId")
        if not conversation or not isinstance(conversation, str):
            raise invalid("openConversationId is required")
        group = self.directory.groups.get(conversation)
        if group is None:
            raise invalid(f"no group {conversation}")
        cool_app_code = body.get("coolAppCode")
        if cool_app_code is not None and cool_app_code != self.org.cool_app_code:
            raise invalid(f"coolAppCode {cool_app_code} is not this app's")
        if not (group.scene or group.cool_app_installed):
            raise ApiError(400, "permession.checkFailed", "权限校验失败",
                           reason="neither a scene group of this app nor a group with its cool app")
        return {"success": True, "openConversationId": group.open_conversation_id,
                "templateId": self.org.scene_group_template_id if group.scene else "", "title": group.title,
                "ownerUserId": group.owner, "status": 1}

    def _resolve(self, keys: list[Any], id_type: int) -> list[str]:
        """Unique userIds in order; any unknown person fails the call."""
        userids = []
        for key in keys:
            user = self.directory.resolve_user(str(key), id_type)
            if user is None:
                raise member_not_found(str(key))
            userids.append(user.userid)
        return list(dict.fromkeys(userids))

    @staticmethod
    def _answer(group: Group) -> dict[str, str]:
        return {"open_conversation_id": group.open_conversation_id, "chat_id": group.chat_id}
