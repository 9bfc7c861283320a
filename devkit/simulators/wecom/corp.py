"""The simulated WeCom corps, the home corp's self-built app, and the service provider's suite.

Defaults are deterministic so a person can paste them into the integration form once and tests can
assert on them: a ``ww`` CorpID, AgentId ``1000002``, a 43-character Secret, a Token and a valid
EncodingAESKey as 接收消息 → 设置API接收 generates them, and members with mobiles ``137000000NN``. One
member has no WeCom API licence, so ``message/send`` lists them in ``unlicenseduser``. A second corp
(示例科技, mobiles ``138000000NN``) has no self-built app and reaches dutybridge only by installing the
suite (服务商后台 → 第三方应用: SuiteID, Secret, Token, EncodingAESKey, and the provider's own CorpID).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Corp:
    """我的企业 and 应用管理 → the app: what the admin copies, and the console settings the simulator keeps."""

    corp_id: str = "ww19f4c684a3ff4f2d"
    corp_name: str = "模拟科技 Sim Tech"
    agent_id: str = "1000002"
    app_name: str = "dutybridge"
    secret: str = "SimWeComSecret-7Kq3Zt6Wm1Xr4Vp9Ny2Lc8Hd5Fg0"
    token: str = "SimWeComToken8Kq3Zt6Wm1Xr4Vp7Ny2"  # alphanumeric, at most 32
    encoding_aes_key: str = "aY3Ub1EjgQK4NEPch4P1dJfsobNJenWV7SEtXI5EaK0"  # 43 characters, 32 bytes decoded
    callback_url: str | None = None  # 接收消息 → URL, kept only once the console's GET check passed
    trusted_domain: str = ""  # 网页授权及 JS-SDK → 可信域名 (host[:port], matched exactly)
    trusted_ips: list[str] = field(default_factory=list)  # 企业可信IP; empty means not enforced
    verify_file: str = "WW_verify_Sim7Kq3Zt6Wm1Xr4V.txt"  # the file the console offers for proving the domain
    verify_content: str = "SimVerify8Ny2Lc8Hd5F"

    def public(self) -> dict[str, Any]:
        return {"corpId": self.corp_id, "corpName": self.corp_name, "agentId": self.agent_id,
                "appName": self.app_name, "secret": self.secret, "token": self.token,
                "encodingAesKey": self.encoding_aes_key, "callbackUrl": self.callback_url,
                "trustedDomain": self.trusted_domain, "trustedIps": list(self.trusted_ips),
                "verifyFile": self.verify_file, "verifyContent": self.verify_content}


@dataclass
class User:
    userid: str
    name: str
    mobile: str  # "13700000001"
    email: str
    licensed: bool = True  # holds a WeCom interface licence (接口许可)

    def public(self) -> dict[str, Any]:
        return {"userid": self.userid, "name": self.name, "mobile": self.mobile, "email": self.email,
                "licensed": self.licensed}


def default_users() -> list[User]:
    people = [("ZhangWei", "张伟", True), ("LiNa", "李娜", True), ("WangFang", "王芳", True),
              ("ChenJie", "陈杰", False)]
    return [User(userid, name, f"137000000{i:02d}", f"{userid.lower()}@simtech.example", licensed)
            for i, (userid, name, licensed) in enumerate(people, start=1)]


def demo_users() -> list[User]:
    people = [("ZhaoLei", "赵磊"), ("SunLi", "孙丽"), ("ZhouXun", "周迅")]
    return [User(userid, name, f"138000000{i:02d}", f"{userid.lower()}@demo.example")
            for i, (userid, name) in enumerate(people, start=1)]


class Directory:
    """The corp's members, all inside the app's visibility range."""

    def __init__(self, users: list[User]) -> None:
        self.users = {u.userid: u for u in users}

    def by_mobile(self, mobile: str) -> User | None:
        wanted = mobile.removeprefix("+86").strip()
        return next((u for u in self.users.values() if u.mobile == wanted), None)

    @property
    def licensed_count(self) -> int:
        return sum(1 for u in self.users.values() if u.licensed)


@dataclass
class Org:
    """An organisation that can install the suite: its CorpID, name, members, and the AgentId the suite's
    app gets in it when installed."""

    corp_id: str
    corp_name: str
    directory: Directory
    suite_agent_id: str

    def public(self) -> dict[str, Any]:
        return {"corpId": self.corp_id, "corpName": self.corp_name, "suiteAgentId": self.suite_agent_id,
                "users": [u.public() for u in self.directory.users.values()]}


def demo_org() -> Org:
    return Org("wwd6b1c3a5e7f90824", "示例科技 Demo Tech", Directory(demo_users()), "1000003")


@dataclass
class Suite:
    """服务商后台 → 应用管理 → 第三方应用: what the operator copies, and the console settings kept."""

    suite_id: str = "ww8d360a0b4d795fd6"
    suite_secret: str = "SimSuiteSecret-3Hn8Qw2Ze5Rt9Yu1Io4Pa7Sd6Fg0"
    token: str = "SimSuiteToken5Hn8Qw2Ze7Rt9Yu1Io4"
    encoding_aes_key: str = "Q7mT2vK9pX4wR8nB3cF6hJ1sL5dG0zY2aE7uI4oP9kM"
    provider_corp_id: str = "wwe2808c1807104d38"  # the service provider's own CorpID (服务商信息)
    name: str = "dutybridge 值班"
    instruction_url: str | None = None  # 指令回调URL, kept once its GET check passed
    data_url: str | None = None  # 数据回调URL (may hold $CORPID$)
    trusted_domain: str = ""  # 可信域名 for the web sign-in (host[:port], matched exactly)

    def config(self, api_base: str) -> dict[str, str]:
        """The body of dutybridge's ``PUT /providers/wecom-suite``."""
        return {"provider_corp_id": self.provider_corp_id, "suite_id": self.suite_id,
                "suite_secret": self.suite_secret, "token": self.token, "encoding_aes_key": self.encoding_aes_key,
                "api_base": api_base}

    def public(self) -> dict[str, Any]:
        return {"suiteId": self.suite_id, "suiteSecret": self.suite_secret, "token": self.token,
                "encodingAesKey": self.encoding_aes_key, "providerCorpId": self.provider_corp_id, "name": self.name,
                "instructionUrl": self.instruction_url, "dataUrl": self.data_url,
                "trustedDomain": self.trusted_domain}
