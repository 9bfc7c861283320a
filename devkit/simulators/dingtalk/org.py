"""The simulated DingTalk org: credentials, people, groups and the published card template.

Defaults are deterministic so a person can paste them into the integration form once and tests can
assert on them; every value can be overridden through the dataclasses.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_TEMPLATE_PATH = REPO_ROOT / "docs" / "dingtalk" / "card-template.json"
CARD_TEMPLATE_ID = "dutybridge_incident.schema"
# 权限管理: what seed 000 has the admin apply for (§三.5 and §四.5); the simulated admin granted them all.
SEED_PERMISSIONS = ("qyapi_chat_manage", "qyapi_robot_sendmsg", "qyapi_chat_read", "qyapi_chat_base_read",
                    "qyapi_get_member_by_mobile")


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def union_id_for(userid: str) -> str:
    """A stable unionId in DingTalk's shape (base64-ish, ending in ``iEiE``)."""
    return base64.b64encode(_digest("unionid:" + userid)).decode()[:22].replace("+", "x").replace("/", "y") + "iEiE"


def conversation_id_for(seed: str) -> str:
    """A stable openConversationId in DingTalk's shape (``cid`` + base64 + ``==``)."""
    return "cid" + base64.b64encode(_digest("cid:" + seed)).decode()[:22].replace("/", "x") + "=="


def chat_id_for(seed: str) -> str:
    return "chat" + hashlib.md5(("chat:" + seed).encode("utf-8")).hexdigest()


def new_request_id() -> str:
    """New-API request ids look like ``01A08FE7-CD6B-79BB-8B2E-35D8768AD457``."""
    return str(uuid.uuid4()).upper()


def new_oapi_request_id() -> str:
    """Old-API request ids look like ``16l4ew3d47pdp``."""
    return "".join(secrets.choice("0123456789abcdefghijklmnopqrstuvwxyz") for _ in range(13))


@dataclass
class User:
    userid: str
    name: str
    mobile: str
    email: str
    unionid: str = ""
    admin: bool = False  # reported as ``sys`` / ``sys_level`` by getuserinfo

    def __post_init__(self) -> None:
        self.unionid = self.unionid or union_id_for(self.userid)

    def public(self) -> dict[str, Any]:
        return {"userid": self.userid, "unionid": self.unionid, "name": self.name,
                "mobile": self.mobile, "email": self.email, "admin": self.admin}


@dataclass
class Group:
    title: str
    members: list[str]
    owner: str
    open_conversation_id: str = ""
    chat_id: str = ""
    cool_app_installed: bool = False
    scene: bool = False  # created through /v1.0/im/sceneGroup/create (carries the template's robot)

    def __post_init__(self) -> None:
        self.open_conversation_id = self.open_conversation_id or conversation_id_for(self.title)
        self.chat_id = self.chat_id or chat_id_for(self.title)

    def public(self) -> dict[str, Any]:
        return {"openConversationId": self.open_conversation_id, "chatId": self.chat_id, "title": self.title,
                "members": list(self.members), "owner": self.owner,
                "coolAppInstalled": self.cool_app_installed, "scene": self.scene}


@dataclass
class Org:
    """Credentials an admin copies from the developer console into the integration form."""

    corp_id: str = "ding5f3c2a1b9d8e7f60"
    agent_id: str = "3120000001"
    client_id: str = "dingsimk3p9q2w7e5r1t"  # AppKey; also the robotCode of the app's robot
    client_secret: str = "SimSecret-7Hq2mZ4vN8xK1pR6tW3yB5cD9fG0jL2nQ4sU6wY8aC1eE3gI5kM7oO9qS"
    aes_key: str = "DutyBridgeSimAesKey0123456789abcdefghijklmn"  # 43 chars, base64 of 32 bytes
    token: str = "dutybridgeSimToken"
    card_template_id: str = CARD_TEMPLATE_ID
    scene_group_template_id: str = "c354e8f2-1b7a-4d0e-b4ea-6f1ab0d3c765"
    scene_group_robot_code: str = "dingsimscenerobot01x"
    cool_app_code: str = "COOLAPP-1-1021DUTYBRIDGESIM0000H"
    permissions: set[str] = field(default_factory=lambda: set(SEED_PERMISSIONS))

    def public(self) -> dict[str, str]:
        return {"corpId": self.corp_id, "agentId": self.agent_id, "clientId": self.client_id,
                "clientSecret": self.client_secret, "aesKey": self.aes_key, "token": self.token,
                "cardTemplateId": self.card_template_id, "sceneGroupTemplateId": self.scene_group_template_id,
                "sceneGroupRobotCode": self.scene_group_robot_code, "coolAppCode": self.cool_app_code,
                "permissions": sorted(self.permissions)}


def default_users() -> list[User]:
    return [
        User("zhangwei", "张伟", "13800000001", "zhangwei@example.com", admin=True),
        User("lina", "李娜", "13800000002", "lina@example.com"),
        User("wangfang", "王芳", "13800000003", "wangfang@example.com"),
    ]


def default_groups(users: list[User]) -> list[Group]:
    everyone = [u.userid for u in users]
    owner = everyone[0]
    return [Group("SRE 值班群", list(everyone), owner), Group("数据库告警群", list(everyone), owner)]


@dataclass
class Template:
    template_id: str
    name: str
    layout: list[dict[str, Any]]
    variables: dict[str, str] = field(default_factory=dict)
    published: bool = True

    def public(self) -> dict[str, Any]:
        return {"id": self.template_id, "name": self.name, "layout": self.layout,
                "variables": self.variables, "published": self.published}


def load_template(path: Path, template_id: str) -> Template:
    """Publish our card-builder template under the id the admin pastes into the integration."""
    spec = json.loads(path.read_text(encoding="utf-8"))
    return Template(template_id, spec.get("name", template_id), spec["layout"], spec.get("variables", {}))


class Directory:
    """The org's people and groups, looked up the ways DingTalk APIs address them."""

    def __init__(self, users: list[User], groups: list[Group]) -> None:
        self.users = {u.userid: u for u in users}
        self.groups = {g.open_conversation_id: g for g in groups}

    def resolve_user(self, key: str, user_id_type: int = 1) -> User | None:
        """``userIdType`` 1 addresses people by userId, 2 by unionId."""
        if user_id_type == 2:
            return next((u for u in self.users.values() if u.unionid == key), None)
        return self.users.get(key)

    def user_by_mobile(self, mobile: str) -> User | None:
        return next((u for u in self.users.values() if u.mobile == mobile), None)

    def add_group(self, group: Group) -> None:
        self.groups[group.open_conversation_id] = group
