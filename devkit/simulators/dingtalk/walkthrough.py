"""Seed 000 played against the DingTalk simulator: the integration from the org's values, the event URL,
the people, the app in a group."""
from __future__ import annotations

from devkit.console import Console, add_members, create_integration, link_by_mobile


def integration_body(org: dict, sim_url: str) -> dict:
    """The integration the guide has the admin enter, from the org's values (``/_sim/state``)."""
    values = org["org"]
    return {
        "platform": "dingtalk", "name": "钉钉值班 (simulator)",
        "credentials": {"corp_id": values["corpId"], "agent_id": values["agentId"],
                        "client_id": values["clientId"], "client_secret": values["clientSecret"],
                        "aes_key": values["aesKey"], "token": values["token"]},
        "settings": {"card_template_id": values["cardTemplateId"], "api_base": org["apiBase"],
                     "oapi_base": org["oapiBase"], "jsapi_url": f"{sim_url}/dingtalk/jsapi.js",
                     "scene_group_template_id": values["sceneGroupTemplateId"],
                     "scene_group_robot_code": values["sceneGroupRobotCode"]}}


def create_dingtalk(console: Console) -> dict:
    return create_integration(console, integration_body(console.sim("GET", "/_sim/state"), console.sim_url))


def save_urls(console: Console, urls: dict[str, str]) -> dict:
    """事件与回调 → 保存: DingTalk checks the event URL (check_url, encrypted) before keeping it."""
    return {"event_url": console.sim("POST", "/_sim/console/event-url", {"url": urls["events"]})}


def setup_dingtalk(console: Console, link: bool = True) -> dict:
    """Seed 000, steps 二 to 四 (the scene-group template and robot of 配置作战室 included); returns the
    integration view and what each step answered."""
    view = create_dingtalk(console)
    saved = save_urls(console, view["urls"])["event_url"]
    state = console.sim("GET", "/_sim/state")
    add_members(console, [(u["userid"], u["name"], u["mobile"], u["email"]) for u in state["users"]])
    linked = link_by_mobile(console, view, link)
    group = state["groups"][0]["openConversationId"]
    console.sim("POST", f"/_sim/groups/{group}/install-cool-app", {})
    return {"integration": view, "event_url_saved": saved, "linked": linked, "group": group,
            "people": [u["userid"] for u in state["users"]]}
