"""War rooms with the recording adapter: who is invited, idempotency, races, delivery, auto-open, refusals."""
from __future__ import annotations

import json
import threading

import pytest

from chalicelib.common import queues
from chalicelib.common.errors import Conflict, NotConfigured, Permanent, RateLimited, Unprocessable
from chalicelib.core.callback import Click, Intent
from chalicelib.core.models import Action, Notification
from chalicelib.flows import actions, warroom
from chalicelib.flows import consumers as worker
from chalicelib.store import chats, deliveries, people
from chalicelib.store import incidents as incident_store
from chalicelib.store import integrations as integration_store
from tests.conftest import drain
from tests.factories import member, notification
from tests.fakes import FakeCard


def _run_deliveries() -> None:
    while jobs := drain("deliveries"):
        for job in jobs:
            worker.handle_delivery(json.dumps(job["body"]))


def _run_rooms() -> None:
    """Run every queued war-room job, retries included (moto ignores delays)."""
    while jobs := drain("war-rooms"):
        for job in jobs:
            worker.handle_room(json.dumps(job["body"]))


def _click_room(user_id: str) -> str:
    """Press 作战室 as ``user_id`` and run the war-rooms queue; returns the click's answer."""
    outcome = actions.from_click("int_fake", "fake", Click(user_id=user_id, incident_id="inc-1",
                                                           intent=Intent.war_room))
    _run_rooms()
    return outcome.message


def _settings(**values) -> None:
    item = integration_store.get("int_fake")
    integration_store.replace({**item, "settings": {**item["settings"], **values}})


@pytest.fixture
def paged(fake_platform):
    """inc-1 paged to Alice (bound) and Bob (not bound, his mobile known to the platform)."""
    member()
    member("bob", "Bob", "13800000002")
    people.bind("alice", "int_fake", "u-alice", "Alice", "2026-01-01T00:00:00Z")
    worker.accept(Notification.model_validate(notification(members=("alice", "bob"))))
    _run_deliveries()
    return fake_platform


def test_a_room_invites_the_paged_people_records_itself_and_gets_the_card(paged):
    room, created = actions.open_war_room("inc-1", "int_fake", None)
    assert created and room["chat_id"] == f"chat-{warroom.room_key('inc-1', 'int_fake')}"
    plan = paged.rooms[0]
    assert sorted(plan.members) == ["u-alice", "u-bob"] and plan.title == "[作战室] CPU > 95% on db-1"
    assert len(plan.key) == 32 and plan.key.isalnum()
    incident = incident_store.get("inc-1")
    assert sorted(incident["war_rooms"]["int_fake"]["invited"]) == ["alice", "bob"]
    assert incident["timeline"][-1]["action"] == "war_room" and incident["timeline"][-1]["by"] == warroom.ADMIN
    assert chats.get("int_fake", f"room:{plan.key}")["war_room"] == "inc-1"
    _run_deliveries()
    kind, target, card, _ = paged.sent[-1]
    assert (kind, target, card.status) == ("chat", f"room:{plan.key}", "triggered")


def test_opening_again_finds_the_same_room(paged):
    first, _ = actions.open_war_room("inc-1", "int_fake", None)
    _run_deliveries()
    again, created = actions.open_war_room("inc-1", "int_fake", "alice")
    assert not created and again == first and len(paged.rooms) == 1
    assert drain("deliveries") == []
    assert [e["action"] for e in incident_store.get("inc-1")["timeline"]].count("war_room") == 1


def test_two_concurrent_requests_open_one_room(paged, atomic_conditions):
    paged.room_seconds = 0.5
    answers: list = []

    def open_it() -> None:
        answers.append(actions.open_war_room("inc-1", "int_fake", None))

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(paged.rooms) == 1
    assert sorted(created for _, created in answers) == [False, True]
    assert answers[0][0]["chat_id"] == answers[1][0]["chat_id"]


def test_a_state_change_updates_the_rooms_card(paged):
    actions.open_war_room("inc-1", "int_fake", None)
    _run_deliveries()
    actions.take_as("inc-1", Action.ack, "alice", "api")
    _run_deliveries()
    room_updates = [card for ref, card in paged.updated if ref["card"].startswith("inc-1.") and card.status ==
                    "acknowledged"]
    assert len(room_updates) == 2  # Alice's card and the room's (Bob is unbound)
    record = next(d for d in deliveries.of("inc-1") if d["kind"] == "chat")
    assert record["state"] == "sent" and record["target"].startswith("room:")


def test_the_opener_and_those_who_acted_come_first(paged):
    member("carol", "Carol", "13800000009")
    people.bind("carol", "int_fake", "u-carol", "Carol", "2026-01-01T00:00:00Z")
    actions.take_as("inc-1", Action.ack, "bob", "api")
    actions.open_war_room("inc-1", "int_fake", "carol")
    assert paged.rooms[0].members == ["u-carol", "u-bob", "u-alice"]
    assert incident_store.get("inc-1")["timeline"][-1]["by"] == "carol"


def test_people_the_platform_cannot_find_or_add_are_listed(paged):
    member("dave", "Dave", "13900000000")  # a mobile the platform does not know
    member("erin", "Erin", "13900000001")
    people.bind("erin", "int_fake", "u-gone-erin", "Erin", "2026-01-01T00:00:00Z")
    worker.accept(Notification.model_validate(notification(members=("dave", "erin"))))
    room, _ = actions.open_war_room("inc-1", "int_fake", None)
    assert sorted(room["invited"]) == ["alice", "bob"] and room["not_invited"] == ["dave", "erin"]
    assert "u-gone-erin" in paged.rooms[0].members


def test_a_room_button_click_is_answered_at_once_and_the_room_opened_from_the_queue(paged):
    assert _click_room("u-alice") == actions.OPENING and len(paged.rooms) == 1
    incident = incident_store.get("inc-1")
    assert incident["timeline"][-1]["source"] == "fake" and incident["timeline"][-1]["by"] == "alice"
    assert _click_room("u-alice").startswith("作战室已存在") and len(paged.rooms) == 1
    assert drain("war-rooms") == []
    stranger = actions.from_click("int_fake", "fake", Click(user_id="u-x", incident_id="inc-1", intent=Intent.war_room))
    assert not stranger.ok and "未关联应用" in stranger.message


def test_a_latecomer_who_presses_the_button_is_invited_into_the_room(paged):
    room, _ = actions.open_war_room("inc-1", "int_fake", None)
    member("carol", "Carol", "13800000009")
    people.bind("carol", "int_fake", "u-carol", "Carol", "2026-01-01T00:00:00Z")
    assert _click_room("u-carol") == actions.OPENING and paged.joined == [(room["chat_id"], ["u-carol"])]
    incident = incident_store.get("inc-1")
    assert incident["war_rooms"]["int_fake"]["invited"] == [*room["invited"], "carol"]
    assert {k: incident["timeline"][-1][k] for k in ("action", "by", "name", "source")} == {
        "action": "war_room_joined", "by": "carol", "name": "Carol", "source": "fake"}
    assert _click_room("u-carol").startswith("作战室已存在") and len(paged.joined) == 1 and len(paged.rooms) == 1
    actions.open_war_room("inc-1", "int_fake", "alice")  # already in: nothing to do
    assert len(paged.joined) == 1


def test_a_latecomer_the_platform_refuses_stays_outside(paged):
    room, _ = actions.open_war_room("inc-1", "int_fake", None)
    member("erin", "Erin", "13900000001")
    people.bind("erin", "int_fake", "u-gone-erin", "Erin", "2026-01-01T00:00:00Z")
    _click_room("u-gone-erin")
    assert paged.joined == [(room["chat_id"], ["u-gone-erin"])]
    incident = incident_store.get("inc-1")
    assert "erin" not in incident["war_rooms"]["int_fake"]["invited"]
    assert incident["timeline"][-1]["action"] == "war_room_failed"
    assert "ask its owner" in incident["timeline"][-1]["note"]


def test_a_queued_room_that_cannot_be_opened_is_noted_and_a_throttled_one_retried(paged, monkeypatch):
    delays = []
    request = queues.open_room
    monkeypatch.setattr(queues, "open_room", lambda job, delay=0: delays.append(delay) or request(job))
    paged.fail_with = [RateLimited("fake", "429", "slow down", retry_after=7)]
    actions.from_click("int_fake", "fake", Click(user_id="u-alice", incident_id="inc-1", intent=Intent.war_room))
    worker.handle_room(json.dumps(drain("war-rooms")[0]["body"]))
    retry, = drain("war-rooms")
    assert retry["body"]["attempt"] == 1 and delays == [0, 7] and paged.rooms == []
    paged.fail_with = [Permanent("fake", "group.denied", "no groups today")]
    worker.handle_room(json.dumps(retry["body"]))
    entry = incident_store.get("inc-1")["timeline"][-1]
    assert entry["action"] == "war_room_failed" and "no groups today" in entry["note"] and paged.rooms == []
    _run_deliveries()  # the presser hears why, in a notice of their own
    kind, target, card, _ = paged.sent[-1]
    assert (kind, target, card.notice, card.title) == ("user", "u-alice", True, "作战室未能开启 (The war room could "
                                                                                  "not be opened)")
    assert "no groups today" in card.description and card.url.endswith("/app/int_fake/incidents/inc-1")
    assert ("故障 Incident", "CPU > 95% on db-1") in card.facts
    worker.handle_room("[not json")  # parked in the DLQ with its error, never raised
    assert drain("war-rooms-dlq")


def test_a_click_on_a_refused_room_says_why(paged):
    _settings(rooms=False)
    outcome = actions.from_click("int_fake", "fake", Click(user_id="u-alice", incident_id="inc-1",
                                                           intent=Intent.war_room))
    assert not outcome.ok and "rooms are off" in outcome.message and paged.rooms == []


def test_a_click_with_too_few_responders_is_refused_at_once(paged, monkeypatch):
    monkeypatch.setattr(paged, "room_min_members", 3)  # WeCom needs 2; inc-1 has Alice and Bob
    outcome = actions.from_click("int_fake", "fake", Click(user_id="u-alice", incident_id="inc-1",
                                                           intent=Intent.war_room))
    assert not outcome.ok and "不足 3 人" in outcome.message and drain("war-rooms") == []


def test_nobody_to_invite_is_refused(paged, monkeypatch):
    people.unbind_integration("int_fake")
    monkeypatch.setattr(paged, "user_by_mobile", lambda self, mobile: None)
    with pytest.raises(Unprocessable, match="not found: bob, alice"):
        actions.open_war_room("inc-1", "int_fake", None)
    assert paged.rooms == []


def test_unconfigured_resolved_and_platform_refusals(paged):
    _settings(rooms=False)
    with pytest.raises(NotConfigured, match="rooms are off"):
        actions.open_war_room("inc-1", "int_fake", None)
    _settings(rooms=True)
    paged.fail_with = [Permanent("fake", "group.denied", "no")]
    with pytest.raises(Permanent):
        actions.open_war_room("inc-1", "int_fake", None)
    actions.take_as("inc-1", Action.resolve, "alice", "api")
    with pytest.raises(Conflict, match="resolved"):
        actions.open_war_room("inc-1", "int_fake", None)


def test_a_resolved_incident_still_shows_its_room(paged):
    room, _ = actions.open_war_room("inc-1", "int_fake", None)
    actions.take_as("inc-1", Action.resolve, "alice", "api")
    assert actions.open_war_room("inc-1", "int_fake", None) == (room, False)


def test_rooms_without_buttons_give_responders_their_own_cards(paged, monkeypatch):
    monkeypatch.setattr(paged, "room_carries_buttons", False)
    actions.open_war_room("inc-1", "int_fake", None)
    _run_deliveries()
    targets = {(kind, target) for kind, target, _, _ in paged.sent}
    assert ("user", "u-bob") in targets and ("user", "u-alice") in targets
    assert next(d for d in deliveries.of("inc-1") if d["target"] == "u-bob")["member_id"] == "bob"
    member("carol", "Carol", "13800000009")  # never paged: joining gives her the card to act from
    people.bind("carol", "int_fake", "u-carol", "Carol", "2026-01-01T00:00:00Z")
    sent = len(paged.sent)
    actions.open_war_room("inc-1", "int_fake", "carol")
    _run_deliveries()
    assert [(kind, target) for kind, target, _, _ in paged.sent[sent:]] == [("user", "u-carol")]
    actions.take_as("inc-1", Action.ack, "alice", "api")  # …and her card follows the incident like the others
    _run_deliveries()
    carols = paged.sent[sent][3]
    assert ("acknowledged", carols) in {(card.status, ref["card"]) for ref, card in paged.updated}


def test_critical_incidents_open_rooms_where_the_integration_asks(fake_platform):
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", "2026-01-01T00:00:00Z")
    _settings(war_room_auto_critical=True)
    worker.handle_notification(json.dumps(notification("inc-w", severity="warning")))
    assert drain("war-rooms") == []
    body = json.dumps(notification("inc-c"))
    worker.handle_notification(body)
    worker.handle_notification(body)
    assert fake_platform.rooms == []  # opened from the war-rooms queue, not on the notification's path
    _run_rooms()
    assert len(fake_platform.rooms) == 1
    incident = incident_store.get("inc-c")
    assert incident["war_rooms"]["int_fake"]["invited"] == ["alice"]
    assert incident["timeline"][-1]["by"] == "system" and incident["timeline"][-1]["source"] == warroom.AUTO
    _run_deliveries()
    assert ("chat", f"room:{fake_platform.rooms[0].key}") in {(k, t) for k, t, _, _ in fake_platform.sent}


def test_an_auto_room_that_fails_is_noted_not_raised(fake_platform):
    member(mobile="13900000000")  # neither bound nor known by mobile
    _settings(war_room_auto_critical=True)
    worker.handle_notification(json.dumps(notification("inc-c")))
    _run_rooms()
    entry = incident_store.get("inc-c")["timeline"][-1]
    assert entry["action"] == "war_room_failed" and "not found: alice" in entry["note"]
    assert drain("deliveries") == []  # nobody pressed a button: no notice of the failure


def test_a_throttled_auto_room_is_retried_from_the_queue(fake_platform, monkeypatch):
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", "2026-01-01T00:00:00Z")
    _settings(war_room_auto_critical=True)
    delays, request = [], queues.open_room
    monkeypatch.setattr(queues, "open_room", lambda job, delay=0: delays.append(delay) or request(job))
    fake_platform.fail_with = [RateLimited("fake", "429", "slow down", retry_after=7)]
    worker.handle_notification(json.dumps(notification("inc-c")))
    _run_rooms()
    assert len(fake_platform.rooms) == 1 and delays == [0, 7]
    assert "war_room_failed" not in [e["action"] for e in incident_store.get("inc-c")["timeline"]]


def test_a_room_click_keeps_what_it_brought_for_the_cards_next_update(paged):
    alices = next(d for d in deliveries.of("inc-1") if d["target"] == "u-alice")
    click = Click(user_id="u-alice", incident_id="inc-1", intent=Intent.war_room,
                  card=FakeCard(alices["ref"]["card"]), ref_update={"response_code": "fresh-code"})
    assert actions.from_click("int_fake", "fake", click).ok
    kept = next(d for d in deliveries.of("inc-1") if d["target"] == "u-alice")
    assert kept["ref"]["response_code"] == "fresh-code" and kept["card_digest"] == alices["card_digest"]
