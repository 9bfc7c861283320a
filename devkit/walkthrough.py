"""The seed guides played against the simulators, step by step, like an admin would.

    python -m devkit.walkthrough --app http://127.0.0.1:8000 --token <admin token> --sim http://127.0.0.1:8900

For each platform: create the integration from the simulated console's values, save the callback
URLs (each platform's handshake), add the people as members and link them by mobile, put the app
into a group, then send a first incident through the notifications queue and open its war room
(作战室: DingTalk's scene group of seed 000 §四, WeCom's 开启作战室 of seed 003 §三). The end-to-end
tests run the same steps.
"""
from __future__ import annotations

import argparse
import json
import time
from urllib.parse import urlsplit

import boto3
import requests


class Console:
    """The admin API and the simulator's control API, as the person doing the setup uses them."""

    def __init__(self, app_url: str, admin_token: str, sim_url: str) -> None:
        self.app_url, self.sim_url = app_url.rstrip("/"), sim_url.rstrip("/")
        self.session = requests.Session()
        self.auth = {"Authorization": f"Bearer {admin_token}"}

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        response = self.session.request(method, self.app_url + path, json=body, headers=self.auth, timeout=30)
        return response.status_code, (response.json() if response.content else {})

    def sim(self, method: str, path: str, body: dict | None = None, platform: str = "dingtalk") -> dict:
        response = self.session.request(method, f"{self.sim_url}/{platform}{path}", json=body, timeout=30)
        return response.json()

    def wait_for(self, condition, what: str, timeout: float = 20.0):
        """Poll ``condition()`` until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if value := condition():
                return value
            time.sleep(0.2)
        raise TimeoutError(f"timed out waiting for {what}")


def _create(console: Console, body: dict) -> dict:
    status, view = console.api("POST", "/integrations", body)
    if status != 201:
        raise RuntimeError(f"creating the integration failed: {status} {view}")
    return view


def _members(console: Console, people: list[tuple[str, str, str, str]]) -> None:
    for member_id, name, mobile, email in people:
        console.api("POST", "/members", {"id": member_id, "name": name, "mobile": mobile, "email": email})


def _link(console: Console, view: dict, link: bool) -> dict | None:
    """The one-click linking by mobile; left out (None) when people are to link themselves in the web app."""
    return console.api("POST", f"/integrations/{view['id']}/link-members")[1] if link else None


def create_dingtalk(console: Console) -> dict:
    org = console.sim("GET", "/_sim/state")
    values = org["org"]
    return _create(console, {
        "platform": "dingtalk", "name": "钉钉值班 (simulator)",
        "credentials": {"corp_id": values["corpId"], "agent_id": values["agentId"],
                        "client_id": values["clientId"], "client_secret": values["clientSecret"],
                        "aes_key": values["aesKey"], "token": values["token"]},
        "settings": {"card_template_id": values["cardTemplateId"], "api_base": org["apiBase"],
                     "oapi_base": org["oapiBase"], "jsapi_url": f"{console.sim_url}/dingtalk/jsapi.js",
                     "scene_group_template_id": values["sceneGroupTemplateId"],
                     "scene_group_robot_code": values["sceneGroupRobotCode"]}})


def setup_dingtalk(console: Console, link: bool = True) -> dict:
    """Seed 000, steps 二 to 四 (the scene-group template and robot of 配置作战室 included); returns the
    integration view and what each step answered."""
    view = create_dingtalk(console)
    saved = console.sim("POST", "/_sim/console/event-url", {"url": view["urls"]["events"]})
    state = console.sim("GET", "/_sim/state")
    _members(console, [(u["userid"], u["name"], u["mobile"], u["email"]) for u in state["users"]])
    linked = _link(console, view, link)
    group = state["groups"][0]["openConversationId"]
    console.sim("POST", f"/_sim/groups/{group}/install-cool-app", {})
    return {"integration": view, "event_url_saved": saved, "linked": linked, "group": group,
            "people": [u["userid"] for u in state["users"]]}


def setup_feishu(console: Console, link: bool = True) -> dict:
    """Seed 002, steps 二 to 四: credentials, 网页配置 / 重定向 URL / 消息卡片请求网址, people, a group."""
    state = console.sim("GET", "/_sim/state", platform="feishu")
    app = state["app"]
    view = _create(console, {"platform": "feishu", "name": "飞书值班 (simulator)", "credentials": {
        "app_id": app["appId"], "app_secret": app["appSecret"], "verification_token": app["verificationToken"],
        "encrypt_key": app["encryptKey"]}, "settings": {"api_base": state["apiBase"],
                                                          "accounts_base": state["accountsBase"]}})
    saved = {kind: console.sim("POST", f"/_sim/console/{kind}", {"url": view["urls"][key]}, platform="feishu")
             for kind, key in (("event-url", "events"), ("card-url", "card_callback"))}
    console.sim("POST", "/_sim/console/redirect-url", {"url": view["urls"]["oauth_redirect"]}, platform="feishu")
    _members(console, [(u["key"], u["name"], u["mobile"], u["email"]) for u in state["users"]])
    linked = _link(console, view, link)
    group = state["groups"][0]["chatId"]
    console.sim("POST", f"/_sim/groups/{group}/add-bot", {}, platform="feishu")
    return {"integration": view, "urls_saved": saved, "linked": linked, "group": group,
            "people": [u["key"] for u in state["users"]]}


def setup_wecom(console: Console, link: bool = True) -> dict:
    """Seed 003 §二 (self-built app): credentials, trusted domain with its WW_verify file, 接收消息 URL, people;
    §三: 增强功能 → 开启作战室."""
    state = console.sim("GET", "/_sim/state", platform="wecom")
    corp = state["corp"]
    view = _create(console, {"platform": "wecom", "name": "企业微信值班 (simulator)", "credentials": {
        "corp_id": corp["corpId"], "agent_id": str(corp["agentId"]), "secret": corp["secret"], "token": corp["token"],
        "encoding_aes_key": corp["encodingAesKey"]}, "settings": {
        "api_base": state["apiBase"], "oauth_base": state["oauthBase"],
        "verify_file": corp["verifyFile"], "verify_content": corp["verifyContent"], "war_room": True}})
    domain = urlsplit(view["urls"]["web_home"]).netloc
    trusted = console.sim("POST", "/_sim/console/trusted-domain", {"domain": domain}, platform="wecom")
    saved = console.sim("POST", "/_sim/console/callback-url", {"url": view["urls"]["callback"]}, platform="wecom")
    _members(console, [(u["userid"], u["name"], u["mobile"], u["email"]) for u in state["users"]])
    linked = _link(console, view, link)
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
    view = _create(console, {"platform": "wecom", "name": f"{org.get('corpName', org['corpId'])} 值班",
                             "credentials": {"corp_id": org["corpId"]},
                             "settings": {"mode": "third_party", "oauth_base": suite["config"]["api_base"] + "/oauth"}})
    _members(console, [(u["userid"], u["name"], u["mobile"], u["email"]) for u in org["users"]])
    _, linked = console.api("POST", f"/integrations/{view['id']}/link-members")
    return {"integration": view, "callback_saved": saved, "installed": installed, "linked": linked, "group": None,
            "corp_id": org["corpId"], "people": [u["userid"] for u in org["users"]]}


SETUPS = {"dingtalk": setup_dingtalk, "feishu": setup_feishu, "wecom": setup_wecom, "wecom-suite": setup_wecom_suite}


def send_incident(queue_url: str, incident_id: str, members: list[str], chats: list[dict], **fields) -> None:
    body = {"version": 1, "incident": {"id": incident_id, "title": "CPU > 95% on db-1", "severity": "critical",
                                       "labels": {"service": "db", "region": "cn-hangzhou"},
                                       "description": "load average 32 on db-1", **fields},
            "targets": {"members": members, "chats": chats}}
    boto3.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(body, ensure_ascii=False))


def open_war_room(console: Console, integration_id: str, incident_id: str, paged: int) -> tuple[int, dict]:
    """The 作战室 of an incident sent through the queue to ``paged`` people: once it is in and they are
    paged on the integration (they are the room's responders), ask for its room."""
    def all_paged() -> bool:
        deliveries = console.api("GET", f"/incidents/{incident_id}")[1].get("deliveries", [])
        return len([d for d in deliveries if d["integration_id"] == integration_id and d["kind"] == "user"]) >= paged
    console.wait_for(all_paged, f"incident {incident_id} paged to {paged} people")
    return console.api("POST", f"/incidents/{incident_id}/war-room", {"integration_id": integration_id})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True)
    parser.add_argument("--sim", default="http://127.0.0.1:8900")
    parser.add_argument("--platform", choices=sorted(SETUPS), action="append")
    args = parser.parse_args()
    console = Console(args.app, args.token, args.sim)
    queue_url = boto3.client("sqs").get_queue_url(QueueName="dutybridge-local-notifications")["QueueUrl"]
    for platform in args.platform or sorted(SETUPS):
        done = SETUPS[platform](console)
        print(json.dumps(done, ensure_ascii=False, indent=2))
        chats = [{"integration_id": done["integration"]["id"], "chat_id": done["group"]}] if done["group"] else []
        incident_id = f"inc-{platform}-{int(time.time())}"
        send_incident(queue_url, incident_id, done["people"], chats)
        status, room = open_war_room(console, done["integration"]["id"], incident_id, len(done["people"]))
        print(f"war room of {incident_id}: {status} {json.dumps(room, ensure_ascii=False)}")
    print(f"incidents sent: open {args.sim}/ to see the cards, the war rooms, and click them")


if __name__ == "__main__":
    main()
