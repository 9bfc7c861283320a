"""Seed 002 against the Feishu simulator: an incident reaches people and a group, a click updates all."""
from __future__ import annotations

import json

import pytest

from devkit.console import Console
from devkit.simulators.feishu.walkthrough import setup_feishu
from devkit.walkthrough import send_incident
from tests.e2e.offboarding import offboarded
from tests.live_runtime import queue_url


@pytest.fixture(scope="module")
def world(console):
    return console, setup_feishu(console)


def _messages(console: Console) -> dict:
    return console.sim("GET", "/_sim/state", platform="feishu")["messages"]


def _cards_of(console: Console, incident_id: str) -> list[dict]:
    return [m for space in _messages(console).values() for m in space if incident_id in json.dumps(m["content"])]


def _status_text(message: dict) -> str:
    content = message["content"] if isinstance(message["content"], dict) else json.loads(message["content"])
    return json.dumps(content["i18n_elements"]["en_us"][0], ensure_ascii=False)


def test_setup_follows_the_guide(world):
    console, done = world
    assert all(saved["ok"] for saved in done["urls_saved"].values())
    assert done["linked"]["linked"] == 3 and done["linked"]["already"] == 0
    _, chats = console.api("GET", f"/integrations/{done['integration']['id']}/chats")
    assert [c["chat_id"] for c in chats] == [done["group"]]
    assert set(done["integration"]["urls"]) == {"events", "card_callback", "oauth_redirect", "web_home"}


def test_incident_reaches_people_and_group_and_a_click_updates_every_card(world):
    console, done = world
    people = done["people"]
    send_incident(queue_url(), "inc-fs-1", people[:2], [{"integration_id": done["integration"]["id"],
                                                        "chat_id": done["group"]}])
    cards = console.wait_for(lambda: (found := _cards_of(console, "inc-fs-1")) and len(found) == 3 and found,
                             "three Feishu cards")
    assert all(c["updateMulti"] for c in cards)
    state = console.sim("GET", "/_sim/state", platform="feishu")
    clicker = next(u for u in state["users"] if u["key"] == people[0])
    personal = next(c for c in cards if c["chatId"] != done["group"] and clicker["open_id"] in json.dumps(c["views"]) or
                    c["space"].endswith(clicker["open_id"]))
    answer = console.sim("POST", "/_sim/click", {"message_id": personal["messageId"], "open_id": clicker["open_id"],
                                                   "value": {"action": "ack", "incident_id": "inc-fs-1"}},
                         platform="feishu")
    assert answer["status"] == 200 and answer["applied"] and not answer["late"]
    console.wait_for(lambda: all("Acknowledged" in _status_text(c) for c in _cards_of(console, "inc-fs-1")),
                     "every card to show the acknowledgement")
    _, incident = console.api("GET", "/incidents/inc-fs-1")
    assert incident["status"] == "acknowledged" and incident["timeline"][-1]["source"] == "feishu"


@pytest.mark.parametrize("flavour", ["v2", "v1"])
def test_a_later_change_updates_the_clicked_card_through_its_delayed_update_token(world, flavour):
    """card.action.trigger (v2) and the legacy card.action.trigger_v1 alike: the click is applied and
    the c- token it brought serves the card's next update."""
    console, done = world
    incident_id = f"inc-fs-2{flavour}"
    send_incident(queue_url(), incident_id, done["people"][:1], [])
    card = console.wait_for(lambda: next(iter(_cards_of(console, incident_id)), None), "the card")
    clicker = next(u for u in console.sim("GET", "/_sim/state", platform="feishu")["users"]
                   if u["key"] == done["people"][0])
    answer = console.sim("POST", "/_sim/click", {"message_id": card["messageId"], "open_id": clicker["open_id"],
                                                 "flavour": flavour, "value": {"action": "ack",
                                                                              "incident_id": incident_id}},
                         platform="feishu")
    assert answer["status"] == 200 and answer["applied"] and "Acknowledged" in _status_text(_cards_of(
        console, incident_id)[0])
    before = console.sim("GET", "/_sim/state", platform="feishu")["calls"]
    console.api("POST", f"/incidents/{incident_id}/actions", {"action": "resolve", "by": done["people"][1]})
    console.wait_for(lambda: "Resolved" in _status_text(_cards_of(console, incident_id)[0]), "the resolved card")
    after = console.sim("GET", "/_sim/state", platform="feishu")["calls"]
    delayed = [k for k in after if k.endswith("/interactive/v1/card/update")]
    assert delayed and after[delayed[0]] > before.get(delayed[0], 0)


def test_a_person_who_leaves_the_tenant_is_unbound_and_paging_them_says_so(runtime, world):
    """Last in this module: the person stays resigned. 员工离职 reaches only an app holding a contact
    permission, which the README has the admin apply for."""
    console, done = world
    console.sim("POST", "/_sim/console/permissions", {"scope": "contact:contact.base:readonly"}, platform="feishu")
    offboarded(console, "feishu", done["integration"]["id"], "zhaolei", "contact.user.deleted_v3")
    person = next(u for u in console.sim("GET", "/_sim/state", platform="feishu")["users"] if u["key"] == "zhaolei")
    assert person["resigned"]
