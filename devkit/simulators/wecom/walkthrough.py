"""Seed 003 played against the WeCom simulator: the self-built app (§二, §三) and the provider's suite (§一)."""
from __future__ import annotations

from urllib.parse import urlsplit

from devkit.console import Console, add_members, create_integration, link_by_mobile


def setup_wecom(console: Console, link: bool = True) -> dict:
    """Seed 003 §二 (self-built app): credentials, trusted domain with its WW_verify file, 接收消息 URL, people;
    §三: 增强功能 → 开启作战室."""
    state = console.sim("GET", "/_sim/state", platform="wecom")
    corp = state["corp"]
    view = create_integration(console, {"platform": "wecom", "name": "企业微信值班 (simulator)", "credentials": {
        "corp_id": corp["corpId"], "agent_id": str(corp["agentId"]), "secret": corp["secret"], "token": corp["token"],
        "encoding_aes_key": corp["encodingAesKey"]}, "settings": {
        "api_base": state["apiBase"], "oauth_base": state["oauthBase"],
        "verify_file": corp["verifyFile"], "verify_content": corp["verifyContent"], "war_room": True}})
    domain = urlsplit(view["urls"]["web_home"]).netloc
    trusted = console.sim("POST", "/_sim/console/trusted-domain", {"domain": domain}, platform="wecom")
    saved = console.sim("POST", "/_sim/console/callback-url", {"url": view["urls"]["callback"]}, platform="wecom")
    add_members(console, [(u["userid"], u["name"], u["mobile"], u["email"]) for u in state["users"]])
    linked = link_by_mobile(console, view, link)
    return {"integration": view, "trusted_domain": trusted, "callback_saved": saved, "linked": linked,
            "group": None, "people": [u["userid"] for u in state["users"]]}


def setup_wecom_suite(console: Console, corp_id: str | None = None) -> dict:
    """Seed 003 §一 (third-party app): the operator's suite, an organisation installs it, its admin
    enters only the 企业 ID, people are linked."""
    suite = console.sim("GET", "/_sim/suite", platform="wecom")
    _, provider = console.api("PUT", "/providers/wecom-suite", suite["config"])
    saved = console.sim("POST", "/_sim/suite/console/callback-url", {"url": provider["urls"]["instruction_callback"]},
                        platform="wecom")
    org = next(o for o in console.sim("GET", "/_sim/state", platform="wecom")["suite"]["orgs"]
               if corp_id in (None, o["corpId"]))
    installed = console.sim("POST", "/_sim/suite/install", {"corp_id": org["corpId"]}, platform="wecom")
    view = create_integration(console, {"platform": "wecom", "name": f"{org.get('corpName', org['corpId'])} 值班",
                             "credentials": {"corp_id": org["corpId"]},
                             "settings": {"mode": "third_party", "oauth_base": suite["config"]["api_base"] + "/oauth"}})
    add_members(console, [(u["userid"], u["name"], u["mobile"], u["email"]) for u in org["users"]])
    _, linked = console.api("POST", f"/integrations/{view['id']}/link-members")
    return {"integration": view, "callback_saved": saved, "installed": installed, "linked": linked, "group": None,
            "corp_id": org["corpId"], "people": [u["userid"] for u in org["users"]]}
