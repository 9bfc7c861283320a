"""Seed 003 played against the WeCom simulator: the self-built app (§二, §三) and the provider's suite (§一)."""
from __future__ import annotations

from urllib.parse import urlsplit

from devkit.console import Console, add_members, create_integration, link_by_mobile


def integration_body(state: dict, sim_url: str) -> dict:
    """The self-built app's integration the guide has the admin enter, from the corp's values (``/_sim/state``)."""
    corp = state["corp"]
    return {"platform": "wecom", "name": "企业微信值班 (simulator)", "credentials": {
        "corp_id": corp["corpId"], "agent_id": str(corp["agentId"]), "secret": corp["secret"], "token": corp["token"],
        "encoding_aes_key": corp["encodingAesKey"]}, "settings": {
        "api_base": state["apiBase"], "oauth_base": state["oauthBase"],
        "verify_file": corp["verifyFile"], "verify_content": corp["verifyContent"], "war_room": True}}


def save_urls(console: Console, urls: dict[str, str]) -> dict:
    """接收消息 → 设置API接收: WeCom checks the URL (a signed, encrypted echostr) before keeping it; template
    cards need it (43012 without)."""
    return {"callback_url": console.sim("POST", "/_sim/console/callback-url", {"url": urls["callback"]},
                                        platform="wecom")}


def setup_wecom(console: Console, link: bool = True) -> dict:
    """Seed 003 §二 (self-built app): credentials, trusted domain with its WW_verify file, 接收消息 URL, people;
    §三: 增强功能 → 开启作战室."""
    state = console.sim("GET", "/_sim/state", platform="wecom")
    view = create_integration(console, integration_body(state, console.sim_url))
    domain = urlsplit(view["urls"]["web_home"]).netloc
    trusted = console.sim("POST", "/_sim/console/trusted-domain", {"domain": domain}, platform="wecom")
    saved = save_urls(console, view["urls"])["callback_url"]
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
