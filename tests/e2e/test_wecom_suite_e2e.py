"""Seed 003 §一 (third-party app) against the simulated suite: install, claim by 企业 ID, card, click."""
from __future__ import annotations

import pytest

from devkit.console import Console
from devkit.simulators.wecom.walkthrough import setup_wecom_suite
from devkit.walkthrough import send_incident
from tests.live_runtime import queue_url


@pytest.fixture(scope="module")
def world(console):
    return console, setup_wecom_suite(console)


def _card(console: Console, corp: str, user: str) -> dict | None:
    spaces = console.sim("GET", "/_sim/state", platform="wecom")["suite"]["spaces"]
    return next((m for m in spaces.get(f"3rd:{corp}:user:{user}", []) if m["msgtype"] == "template_card"), None)


def test_installing_the_app_opens_an_integration_the_admin_claims_with_the_corp_id(world):
    console, done = world
    assert done["callback_saved"]["ok"] and done["installed"]["ok"]
    assert done["integration"]["urls"]["callback"].endswith("/callbacks/wecom-suite")
    assert done["linked"]["linked"] == len(done["people"])
    _, provider = console.api("GET", "/providers/wecom-suite")
    assert provider["ticket_received"] is True


def test_a_card_click_in_the_organisation_acknowledges_and_updates_the_card(world):
    console, done = world
    person = done["people"][0]
    send_incident(queue_url(), "inc-3rd-1", [person], [])
    card = console.wait_for(lambda: _card(console, done["corp_id"], person), "the third-party card")
    ack = next(b["key"] for b in card["content"]["button_list"] if b["key"].startswith("ack/"))
    assert console.sim("POST", "/_sim/click", {"userid": person, "task_id": card["taskId"], "key": ack},
                       platform="wecom")["ok"]
    console.wait_for(lambda: console.api("GET", "/incidents/inc-3rd-1")[1]["status"] == "acknowledged", "the ack")
    console.wait_for(lambda: "处理中" in _card(console, done["corp_id"], person)["content"]["main_title"]["desc"],
                     "the updated card")


def test_uninstalling_withdraws_the_grant(world):
    console, done = world
    console.sim("POST", "/_sim/suite/uninstall", {"corp_id": done["corp_id"]}, platform="wecom")
    send_incident(queue_url(), "inc-3rd-2", done["people"][:1], [])
    mine = done["integration"]["id"]

    def settled_delivery():
        deliveries = console.api("GET", "/incidents/inc-3rd-2")[1].get("deliveries", [])
        return next((d for d in deliveries
                     if d["integration_id"] == mine and d["state"] not in ("pending", "deferred")), None)

    delivery = console.wait_for(settled_delivery, "the delivery")
    assert delivery["state"] == "failed" and "cancel_auth" in delivery["error"] and "授权已取消" in delivery["error"]
