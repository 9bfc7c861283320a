"""War rooms (作战室) on each platform through the running simulators: the group holds the responders and
the live card, the room's card acts on the incident, and state changes reach the room."""
from __future__ import annotations

import json

import pytest

from chalicelib.core.models import DeliveryJob
from devkit.console import Console
from devkit.simulators import SIMULATORS
from devkit.walkthrough import open_war_room, send_incident
from tests.live_runtime import queue_url


@pytest.fixture(scope="module")
def worlds(console):
    done = {name: entry.setup(console) for name, entry in SIMULATORS.items()}
    yield done
    for setup in done.values():  # later modules set their platforms up again; leave nobody bound twice
        console.api("DELETE", f"/integrations/{setup['integration']['id']}")


def _state(console: Console, platform: str) -> dict:
    return console.sim("GET", "/_sim/state", platform=platform)


def _incident(console: Console, incident_id: str) -> dict:
    return console.api("GET", f"/incidents/{incident_id}")[1]


def test_dingtalk_war_room_from_the_card_button(console, worlds):
    done, incident_id = worlds["dingtalk"], "inc-wr-ding"
    integration_id = done["integration"]["id"]
    send_incident(queue_url(), incident_id, ["zhangwei", "lina"], [])
    mine = DeliveryJob(incident_id=incident_id, integration_id=integration_id, kind="user",
                       target="zhangwei").card_key
    card = console.wait_for(lambda: next((c for c in _state(console, "dingtalk")["cards"].get("IM_ROBOT.zhangwei", [])
                                          if c["outTrackId"] == mine), None), "zhangwei's card")
    assert card["cardParamMap"]["can_war_room"] == "true"

    clicked = console.sim("POST", "/_sim/click", {"outTrackId": mine, "userId": "zhangwei", "actionId": "war_room",
                                                    "params": {}})
    assert clicked["status"] == 200 and "作战室准备中" in clicked["body"]["userPrivateData"]["cardParamMap"]["notice"]
    room = console.wait_for(lambda: _incident(console, incident_id).get("war_rooms", {}).get(integration_id),
                            "the room opened from the war-rooms queue")
    group = next(g for g in _state(console, "dingtalk")["groups"] if g["openConversationId"] == room["chat_id"])
    assert group["scene"] and group["owner"] == "zhangwei" and {"zhangwei", "lina"} <= set(group["members"])

    space = f"IM_GROUP.{room['chat_id']}"
    room_card = console.wait_for(lambda: next(iter(_state(console, "dingtalk")["cards"].get(space, [])), None),
                                 "the card in the scene group")
    assert room_card["outTrackId"].startswith(f"{incident_id}.") and room_card["cardParamMap"]["status"] == "triggered"
    acked = console.sim("POST", "/_sim/click", {"outTrackId": room_card["outTrackId"], "userId": "lina",
                                                  "actionId": "ack", "params": {}})
    assert acked["status"] == 200 and _incident(console, incident_id)["status"] == "acknowledged"
    console.wait_for(lambda: next(c for c in _state(console, "dingtalk")["cards"]["IM_ROBOT.zhangwei"]
                                  if c["outTrackId"] == mine)["cardParamMap"]["status"] == "acknowledged",
                     "zhangwei's card to follow the click in the room")
    console.api("POST", f"/incidents/{incident_id}/actions", {"action": "resolve", "by": "zhangwei"})
    console.wait_for(lambda: _state(console, "dingtalk")["cards"][space][0]["cardParamMap"]["status"] == "resolved",
                     "the room's card to show resolved")


def _feishu_cards(console: Console, space: str, incident_id: str) -> list[dict]:
    return [m for m in _state(console, "feishu")["messages"].get(space, []) if incident_id in json.dumps(m["content"])]


def _feishu_status(message: dict) -> str:
    return json.dumps(message["content"]["i18n_elements"]["en_us"][0], ensure_ascii=False)


def test_feishu_war_room_from_the_admin_api(console, worlds):
    done, incident_id = worlds["feishu"], "inc-wr-fs"
    people = done["people"][:2]
    send_incident(queue_url(), incident_id, people, [])
    status, room = open_war_room(console, done["integration"]["id"], incident_id, len(people))
    assert status == 201, room
    state = _state(console, "feishu")
    group = next(g for g in state["groups"] if g["chatId"] == room["chat_id"])
    open_ids = {u["key"]: u["open_id"] for u in state["users"]}
    assert group["createdByApp"] and group["botInChat"] and {open_ids[p] for p in people} <= set(group["members"])
    assert sorted(room["invited"]) == sorted(people)

    room_card = console.wait_for(lambda: next(iter(_feishu_cards(console, f"chat:{room['chat_id']}", incident_id)),
                                              None), "the card in the war room")
    value = {"action": "war_room", "incident_id": incident_id}
    again = console.sim("POST", "/_sim/click", {"message_id": room_card["messageId"], "open_id": open_ids[people[1]],
                                                  "value": value}, platform="feishu")
    assert again["status"] == 200 and "作战室已存在" in again["body"]["toast"]["content"]
    ack = {"action": "ack", "incident_id": incident_id}
    console.sim("POST", "/_sim/click", {"message_id": room_card["messageId"], "open_id": open_ids[people[1]],
                                        "value": ack}, platform="feishu")
    console.wait_for(lambda: "Acknowledged" in _feishu_status(
        _feishu_cards(console, f"chat:{room['chat_id']}", incident_id)[0]), "the room's card to show the ack")
    assert _incident(console, incident_id)["status"] == "acknowledged"


def test_wecom_war_room_gets_summaries_and_responders_keep_their_buttons(console, worlds):
    done, incident_id = worlds["wecom"], "inc-wr-wc"
    send_incident(queue_url(), incident_id, ["ZhangWei", "LiNa"], [])
    status, room = open_war_room(console, done["integration"]["id"], incident_id, 2)
    assert status == 201, room
    chat = next(c for c in _state(console, "wecom")["chats"] if c["chatid"] == room["chat_id"])
    assert {"ZhangWei", "LiNa"} <= set(chat["userlist"]) and chat["name"] == room["title"]

    def summaries() -> list[dict]:
        space = _state(console, "wecom")["spaces"].get(f"chat:{room['chat_id']}", [])
        return [m for m in space if m["msgtype"] == "markdown" and incident_id in json.dumps(m["content"])]

    console.wait_for(lambda: summaries(), "the summary in the war room")
    card = console.wait_for(lambda: next((m for m in _state(console, "wecom")["spaces"].get("user:ZhangWei", [])
                                          if incident_id in json.dumps(m["content"])), None), "ZhangWei's card")
    assert f"war_room/0/{incident_id}" in [b["key"] for b in card["content"]["button_list"]]
    console.sim("POST", "/_sim/click", {"userid": "ZhangWei", "task_id": card["taskId"], "key": f"ack/0/{incident_id}"},
                platform="wecom")
    console.wait_for(lambda: "处理中" in json.dumps(summaries()[-1]["content"], ensure_ascii=False),
                     "a new summary with the acknowledgement")
