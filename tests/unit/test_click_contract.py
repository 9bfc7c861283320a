"""The typed click contract: what a button asks for (its intent) and which delivered card it names.

A card id is what each adapter records on the delivery when it sends and reads off a click: its ref
entry must stay the one deployed versions recorded, or their deliveries would no longer be found.
"""
from __future__ import annotations

import pytest

from chalicelib.core.callback import CARD_BUTTONS, CardId, Intent
from chalicelib.delivery import pipeline
from chalicelib.platforms.dingtalk.adapter import OutTrackId
from chalicelib.platforms.feishu.inbound import MessageId
from chalicelib.platforms.wecom import adapter as wecom
from chalicelib.store import deliveries

# Each platform's card id, and a ref exactly as deployed versions stored it (after a click, too).
PLATFORMS = ["dingtalk", "feishu", "wecom"]
STORED = [
    (OutTrackId("inc-1.0123456789ab"), {"out_track_id": "inc-1.0123456789ab", "noticed": "user-alice"}),
    (MessageId("om_1"), {"message_id": "om_1", "update_token": "c-1", "token_at": 1700000000, "token_uses": 1}),
    (wecom.TaskId("db0123"), {"task_id": "db0123", "user": "zhangsan", "response_code": None, "code_at": None}),
]


@pytest.mark.parametrize(("card", "ref"), STORED, ids=PLATFORMS)
def test_a_card_id_records_and_names_the_ref_entry_deployed_versions_stored(card: CardId, ref: dict):
    assert card.entry().items() <= ref.items()
    assert card.names(ref)
    assert not card.names({**ref, card.ref_key: "another card"}) and not card.names(None)


@pytest.mark.parametrize(("card", "ref"), STORED, ids=PLATFORMS)
def test_a_click_finds_and_updates_a_delivery_recorded_by_a_deployed_version(aws_env, card: CardId, ref: dict):
    deliveries.ensure({"incident_id": "inc-1", "target_key": "int_x#user#u", "integration_id": "int_x",
                       "kind": "user", "target": "u", "state": "sent", "ref": ref})
    stored = deliveries.get("inc-1", "int_x#user#u")["ref"]
    assert pipeline.note_click(deliveries.of("inc-1"), card, {"fresh": "code"}) == "int_x#user#u"
    assert deliveries.get("inc-1", "int_x#user#u")["ref"] == {**stored, "fresh": "code"}


def test_a_click_that_names_no_card_matches_none():
    assert not MessageId("").names({"message_id": ""})
    assert pipeline.clicked("inc-1", None) is None


def test_card_ids_of_different_platforms_differ_even_with_the_same_value():
    assert MessageId("x") != wecom.TaskId("x") and MessageId("x") == MessageId("x")


def test_an_intent_is_one_the_platforms_cards_offer():
    assert Intent.named("war_room", CARD_BUTTONS) is Intent.war_room
    assert Intent.named("refresh", CARD_BUTTONS) is None  # only WeCom's card has 状态刷新
    assert Intent.named("refresh", wecom.BUTTONS) is Intent.refresh
    assert Intent.named("delete", wecom.BUTTONS) is None
