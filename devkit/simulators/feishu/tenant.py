"""The simulated Feishu tenant: the self-built app's credentials, people and groups.

Defaults are deterministic so a person can paste them into the integration form once and tests can
assert on them. Ids follow Feishu's shapes: ``cli_`` app ids, ``ou_``/``on_`` open and union ids (32 hex),
``oc_`` chat ids, 8-hex user ids. Mobiles are kept with their ``+86`` prefix; lookups accept both forms.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any


def stable_hex(*parts: str, length: int = 32) -> str:
    return hashlib.sha256(":".join(parts).encode("utf-8")).hexdigest()[:length]


def new_log_id() -> str:
    """Feishu log ids look like ``20240911085251BEA8869709BAD4373B10``."""
    return "2026" + secrets.token_hex(15).upper()


# 权限管理: the scopes seed 002 (§三.3) has the admin apply for, and im:resource that uploading an incident's
# picture needs (上传图片; README, Feishu step 4); the simulated admin granted them all.
SEED_SCOPES = ("im:chat", "im:message", "contact:user.id:readonly", "im:resource")


@dataclass
class App:
    """What the admin copies from 凭证与基础信息 and 事件与回调 → 加密策略."""

    app_id: str = "cli_a7d5e3c1b9f04d21"
    app_secret: str = "SimFeishuAppSecret8Kq3Zt6Wm1Xr4Vp7Ny2"
    verification_token: str = "simVerifyTokenQ4w8E2r6T0y3U7i1"
    encrypt_key: str = "SimEncryptKey-dutybridge-9f3a2c"  # "" simulates a tenant without an Encrypt Key
    tenant_key: str = "2f8c1d4e6a7b9053"
    name: str = "dutybridge"
    redirect_urls: list[str] = field(default_factory=list)  # 安全设置 → 重定向 URL
    scopes: set[str] = field(default_factory=lambda: set(SEED_SCOPES))

    def public(self) -> dict[str, Any]:
        return {"appId": self.app_id, "appSecret": self.app_secret, "verificationToken": self.verification_token,
                "encryptKey": self.encrypt_key, "tenantKey": self.tenant_key, "name": self.name,
                "redirectUrls": list(self.redirect_urls), "scopes": sorted(self.scopes)}


@dataclass
class User:
    key: str  # a short handle for the page and tests, e.g. "chenjing"
    name: str
    en_name: str
    mobile: str  # "+8613900000001"
    email: str
    app_id: str
    open_id: str = ""
    union_id: str = ""
    user_id: str = ""
    in_scope: bool = True  # inside the app's availability (可用范围)
    resigned: bool = False

    def __post_init__(self) -> None:
        self.open_id = self.open_id or "ou_" + stable_hex("open", self.app_id, self.key)
        self.union_id = self.union_id or "on_" + stable_hex("union", self.key)
        self.user_id = self.user_id or stable_hex("user", self.key, length=8)

    def ids(self) -> dict[str, str]:
        return {"open_id": self.open_id, "union_id": self.union_id, "user_id": self.user_id}

    def public(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "enName": self.en_name, "mobile": self.mobile,
                "email": self.email, "inScope": self.in_scope, "resigned": self.resigned, **self.ids()}


@dataclass
class Group:
    name: str
    members: list[str]  # open ids
    owner: str
    chat_id: str = ""
    bot_in_chat: bool = False
    dissolved: bool = False
    created_by_app: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        self.chat_id = self.chat_id or "oc_" + stable_hex("chat", self.name)

    def public(self) -> dict[str, Any]:
        return {"chatId": self.chat_id, "name": self.name, "members": list(self.members), "owner": self.owner,
                "botInChat": self.bot_in_chat, "dissolved": self.dissolved, "createdByApp": self.created_by_app}


def default_users(app_id: str) -> list[User]:
    people = [("chenjing", "陈静", "Jing Chen"), ("liuyang", "刘洋", "Yang Liu"), ("zhaolei", "赵磊", "Lei Zhao")]
    return [User(key, name, en, f"+86139000000{i:02d}", f"{key}@example.com", app_id)
            for i, (key, name, en) in enumerate(people, start=1)]


def default_groups(users: list[User]) -> list[Group]:
    everyone = [u.open_id for u in users]
    return [Group("SRE 值班群", list(everyone), everyone[0]), Group("支付告警群", list(everyone), everyone[0])]


def normalise_mobile(mobile: str) -> str:
    """Mainland numbers may come without the country code; Feishu keeps them as +86."""
    return mobile if mobile.startswith("+") else "+86" + mobile


class Directory:
    """The tenant's people and groups, looked up the ways Feishu APIs address them."""

    def __init__(self, users: list[User], groups: list[Group]) -> None:
        self.users = {u.open_id: u for u in users}
        self.groups = {g.chat_id: g for g in groups}

    def user(self, key: str, id_type: str = "open_id") -> User | None:
        """As an API addresses people: by ``open_id``, ``union_id``, ``user_id`` or ``email``."""
        if id_type == "email":
            return self.by_email(key)
        return next((u for u in self.users.values() if u.ids().get(id_type) == key), None)

    def person(self, handle: str) -> User | None:
        """As the page and tests name people: the short key or any of the ids."""
        return next((u for u in self.users.values() if handle in (u.key, *u.ids().values())), None)

    def by_mobile(self, mobile: str) -> User | None:
        wanted = normalise_mobile(mobile)
        return next((u for u in self.users.values() if u.mobile == wanted), None)

    def by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email.lower() == email.lower()), None)

    def p2p_chat_id(self, user: User) -> str:
        """The chat id of a user's 1:1 chat with the app's bot."""
        return "oc_" + stable_hex("p2p", user.open_id)
