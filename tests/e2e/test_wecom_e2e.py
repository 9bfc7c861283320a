"""Seed 003 (self-built app) against the WeCom simulator: cards, clicks, the update budget, 状态刷新."""
from __future__ import annotations

import json

import pytest

from devkit.console import Console
from devkit.simulators.wecom.walkthrough import setup_wecom
from devkit.walkthrough import send_incident
from tests.e2e.offboarding import offboarded
from tests.live_runtime import queue_url


@pytest.fixture(scope="module")
def world(console):
    return console, setup_wecom(console)


def _card(console: Console, user: str, incident_id: str) -> dict | None:
    spaces = console.sim("GET", "/_sim/state", platform="wecom")["spaces"]
    return next((m for m in spaces.get(f"user:{user}", []) if incident_id in json.dumps(m["content"])), None)


def _status(card: dict) -> str:
    return card["content"]["main_title"]["desc"]


def test_setup_follows_the_guide(world):
    console, done = world
    assert done["trusted_domain"]["ok"], done["trusted_domain"]
    assert done["callback_saved"]["ok"], done["callback_saved"]
    assert done["linked"]["linked"] >= 3
    assert set(done["integration"]["urls"]) == {"callback", "oauth_redirect", "web_home"}


def test_card_click_update_budget_and_refresh(world):
    console, done = world
    send_incident(queue_url(), "inc-wc-1", ["ZhangWei", "ChenJie"], [])
    card = console.wait_for(lambda: _card(console, "ZhangWei", "inc-wc-1"), "ZhangWei's card")
    assert "待处理" in _status(card) and len(card["content"]["button_list"]) <= 6
    unlicensed = console.wait_for(lambda: next((d for d in console.api("GET", "/incidents/inc-wc-1")[1]["deliveries"]
                                                if d["target"] == "ChenJie" and d["state"] != "pending"), None),
                                  "ChenJie's delivery")
    assert unlicensed["state"] == "failed" and "unlicenseduser" in unlicensed["error"]

    ack = "ack/0/inc-wc-1"
    clicked = console.sim("POST", "/_sim/click", {"userid": "ZhangWei", "task_id": card["taskId"], "key": ack},
                          platform="wecom")
    assert clicked["ok"]
    console.wait_for(lambda: "处理中" in _status(_card(console, "ZhangWei", "inc-wc-1")), "the acknowledged card")

    # the send's code and the click's code are both spent now: the next change cannot reach the card ...
    console.api("POST", "/incidents/inc-wc-1/actions", {"action": "resolve", "by": "LiNa"})
    console.wait_for(lambda: any("response_code.spent" in (d["error"] or "") for d in
                                 console.api("GET", "/incidents/inc-wc-1")[1]["deliveries"]), "the spent budget")
    assert "处理中" in _status(_card(console, "ZhangWei", "inc-wc-1"))
    # ... until the person presses 状态刷新, which earns one more update
    refresh = next(b["key"] for b in _card(console, "ZhangWei", "inc-wc-1")["content"]["button_list"]
                   if b["key"].startswith("refresh/"))
    console.sim("POST", "/_sim/click", {"userid": "ZhangWei", "task_id": card["taskId"], "key": refresh},
                platform="wecom")
    console.wait_for(lambda: "已关闭" in _status(_card(console, "ZhangWei", "inc-wc-1")), "the refreshed card")


def test_a_member_who_leaves_the_corp_is_unbound_and_paging_them_says_so(runtime, world):
    """Last in this module: the corp loses the member for good."""
    console, done = world
    answer = offboarded(console, "wecom", done["integration"]["id"], "WangFang", "change_contact/delete_user")
    assert "app" in answer["pushed"] and answer["app"]["ok"]
