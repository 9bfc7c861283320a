"""Seed 002 played against the Feishu simulator: credentials, the console's URLs, the people, the bot in a
group."""
from __future__ import annotations

from devkit.console import Console, add_members, create_integration, link_by_mobile


def integration_body(state: dict, sim_url: str) -> dict:
    """The integration the guide has the admin enter, from the app's 凭证与基础信息 (``/_sim/state``)."""
    app = state["app"]
    return {"platform": "feishu", "name": "飞书值班 (simulator)", "credentials": {
        "app_id": app["appId"], "app_secret": app["appSecret"], "verification_token": app["verificationToken"],
        "encrypt_key": app["encryptKey"]}, "settings": {"api_base": state["apiBase"],
                                                          "accounts_base": state["accountsBase"]}}


def save_urls(console: Console, urls: dict[str, str]) -> dict:
    """事件订阅 and 消息卡片请求网址 (each checked by a url_verification first), and the OAuth 重定向 URL."""
    saved = {kind: console.sim("POST", f"/_sim/console/{kind}", {"url": urls[key]}, platform="feishu")
             for kind, key in (("event-url", "events"), ("card-url", "card_callback"))}
    console.sim("POST", "/_sim/console/redirect-url", {"url": urls["oauth_redirect"]}, platform="feishu")
    return saved


def setup_feishu(console: Console, link: bool = True) -> dict:
    """Seed 002, steps 二 to 四: credentials, 网页配置 / 重定向 URL / 消息卡片请求网址, people, a group."""
    state = console.sim("GET", "/_sim/state", platform="feishu")
    view = create_integration(console, integration_body(state, console.sim_url))
    saved = save_urls(console, view["urls"])
    add_members(console, [(u["key"], u["name"], u["mobile"], u["email"]) for u in state["users"]])
    linked = link_by_mobile(console, view, link)
    group = state["groups"][0]["chatId"]
    console.sim("POST", f"/_sim/groups/{group}/add-bot", {}, platform="feishu")
    return {"integration": view, "urls_saved": saved, "linked": linked, "group": group,
            "people": [u["key"] for u in state["users"]]}
