"""Card clicks through the core with the recording adapter: applied once, never lost, bounded silences,
and the clicked card always ends showing the incident's state."""
from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from chalicelib.common import clock, queues
from chalicelib.common.errors import InvalidInput
from chalicelib.core import cards, incidents
from chalicelib.core.callback import ChatEvent, ChatEvents, Click, InboundRequest, Intent, Reply
from chalicelib.core.models import MAX_SILENCE_MINUTES, Action
from chalicelib.flows import actions
from chalicelib.flows import callbacks as inbound_flow
from chalicelib.flows import consumers as worker
from chalicelib.store import chats, deliveries, people
from chalicelib.store import incidents as incident_store
from tests.conftest import drain
from tests.factories import member, notification
from tests.fakes import FakeCard
from tests.fuzz import dynamo_limits


def _run_deliveries() -> list[str]:
    """Run every queued delivery job (moto ignores delays); returns what each did."""
    outcomes = []
    while jobs := drain("deliveries"):
        for job in jobs:
            outcomes.append(_deliver(job["body"]))
    return outcomes


def _deliver(body: dict) -> str:
    from chalicelib.core.models import DeliveryJob
    from chalicelib.delivery import pipeline as delivery
    return delivery.deliver(DeliveryJob.model_validate(body))


def _request(age: float = 0.0) -> InboundRequest:
    return InboundRequest(method="POST", query={}, headers={}, body=b"{}", received_at=time.monotonic() - age)


@pytest.fixture
def carded(fake_platform, monkeypatch):
    """inc-1 delivered to Alice (bound) as one card; the fake platform's clicks are whatever ``press`` sets,
    and its replies carry the card within a 3 s deadline, like Feishu's."""
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", "2026-01-01T00:00:00Z")
    worker.handle_notification(json.dumps(notification()))
    assert _run_deliveries() == ["sent"]
    pressed: list[Click] = []
    monkeypatch.setattr(fake_platform, "click_reply_seconds", 3.0)
    monkeypatch.setattr(fake_platform, "parse_callback", lambda self, request, endpoint: pressed[-1])
    fake_platform.press = lambda **fields: pressed.append(_click(fake_platform, **fields))
    return fake_platform


def _click(fake_platform, intent: str = "ack", minutes: int | None = None, key: str = "click-1") -> Click:
    card_key = fake_platform.sent[0][3]
    return Click(user_id="u-alice", incident_id="inc-1", intent=Intent(intent), minutes=minutes,
                 card=FakeCard(card_key), dedupe_key=key)


def _record() -> dict:
    (record,) = deliveries.of("inc-1")
    return record


def _storage_error(*args, **kwargs):
    raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                      "PutItem")


# -- a click counts as handled only once it was applied ---------------------------------------------

def test_a_click_whose_application_fails_is_applied_on_redelivery(carded, monkeypatch):
    carded.press(intent="ack")
    with monkeypatch.context() as patched:
        patched.setattr(incident_store, "save", _storage_error)
        with pytest.raises(ClientError):
            inbound_flow.click("int_fake", _request())
    assert incidents.get("inc-1")["status"] == "triggered"
    answer = inbound_flow.click("int_fake", _request())  # the platform's redelivery of the same click
    assert answer.body == {"ok": True, "message": actions.DONE["ack"]}
    assert incidents.get("inc-1")["status"] == "acknowledged"
    again = inbound_flow.click("int_fake", _request())
    assert again.body["message"].startswith("已处理")
    assert [e["action"] for e in incidents.get("inc-1")["timeline"]].count("ack") == 1


def test_a_duplicate_arriving_while_the_first_is_applied_is_not_applied_twice(carded, monkeypatch):
    carded.press(intent="resolve")
    duplicate_answers = []
    real_apply = actions.apply

    def apply_with_a_duplicate_arriving(*args, **kwargs):
        duplicate_answers.append(inbound_flow.click("int_fake", _request()))
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(actions, "apply", apply_with_a_duplicate_arriving)
    answer = inbound_flow.click("int_fake", _request())
    assert answer.body["ok"] is True and duplicate_answers[0].body["message"].startswith("已处理")
    assert [e["action"] for e in incidents.get("inc-1")["timeline"]].count("resolve") == 1


def test_an_event_whose_upkeep_fails_is_applied_on_redelivery(fake_platform, monkeypatch):
    pushed = ChatEvents(reply=Reply(body={"ok": True}), dedupe_key="event-1",
                        events=[ChatEvent("joined", "cid-sre", "SRE")])
    monkeypatch.setattr(fake_platform, "parse_callback", lambda self, request, endpoint: pushed)
    with monkeypatch.context() as patched:
        patched.setattr(chats, "upsert", _storage_error)
        with pytest.raises(ClientError):
            inbound_flow.event("int_fake", _request())
    inbound_flow.event("int_fake", _request())
    assert chats.get("int_fake", "cid-sre")["title"] == "SRE"


def test_a_dedupe_key_of_any_length_is_kept_under_a_bounded_key(carded):
    carded.press(intent="ack", key="k" * 5000)
    assert inbound_flow.click("int_fake", _request()).body["ok"] is True
    assert inbound_flow.click("int_fake", _request()).body["message"].startswith("已处理")


# -- malformed clicks are refused with a reason, never stored -------------------------------------------

@pytest.mark.parametrize(("fields", "message"), [
    ({"incident_id": "i" * 3000}, actions.NOT_FOUND),
    ({"incident_id": "inc 1/../x"}, actions.NOT_FOUND),
    ({"user_id": "u" * 3000}, actions.UNKNOWN_USER),
    ({"user_id": ""}, actions.UNKNOWN_USER),
])
def test_a_click_with_ids_no_key_can_hold_is_refused(carded, monkeypatch, fields, message):
    dynamo_limits.enforce(monkeypatch)
    click = Click(**{"user_id": "u-alice", "incident_id": "inc-1", "intent": Intent.ack, **fields})
    outcome = actions.from_click("int_fake", "fake", click)
    assert (outcome.ok, outcome.message) == (False, message)
    assert incidents.get("inc-1")["status"] == "triggered"


# -- silences from a card are bounded exactly as the admin API bounds them -------------------------------

@pytest.mark.parametrize("minutes", [1_000_000, MAX_SILENCE_MINUTES + 1, 0, -5])
def test_a_silence_click_beyond_the_admin_bound_is_refused_with_the_reason(carded, minutes):
    carded.press(intent="silence", minutes=minutes)
    answer = inbound_flow.click("int_fake", _request())
    assert answer.body["ok"] is False and str(MAX_SILENCE_MINUTES) in answer.body["message"]
    assert not incidents.get("inc-1").get("silenced_until")


def test_a_silence_click_inside_the_bound_silences_for_that_long(carded):
    carded.press(intent="silence", minutes=MAX_SILENCE_MINUTES)
    assert inbound_flow.click("int_fake", _request()).body["ok"] is True
    until = clock.parse_iso(incidents.get("inc-1")["silenced_until"])
    assert abs(until - (clock.now() + MAX_SILENCE_MINUTES * 60)) < 5


def test_no_caller_can_set_a_silence_beyond_the_bound(carded):
    with pytest.raises(InvalidInput):
        incidents.act("inc-1", Action.silence, {"id": "alice", "name": "Alice"}, "api", 1_000_000)


# -- the clicked card ends in the incident's state --------------------------------------------------------

@pytest.fixture
def held(monkeypatch):
    """Jobs queued with a delay wait here until the test lets them go (moto would deliver them at once)."""
    waiting: list = []
    real_enqueue = queues.deliver

    def enqueue(jobs, delay=0):
        (waiting.extend(jobs) if delay else real_enqueue(jobs))

    monkeypatch.setattr(queues, "deliver", enqueue)

    def release() -> list[str]:
        jobs, waiting[:] = list(waiting), []
        real_enqueue(jobs)
        return _run_deliveries()

    return release


def _card_now() -> str:
    return cards.build(incidents.get("inc-1"), "int_fake").digest()


def test_a_reply_ready_in_time_counts_as_shown_and_is_not_sent_again(carded, held):
    carded.press(intent="ack")
    inbound_flow.click("int_fake", _request())
    assert _record()["card_digest"] == _card_now()
    assert _run_deliveries() == []
    assert held() == ["unchanged"]  # the settle job, once the platform's deadline is past
    assert carded.updated == []


def test_a_reply_ready_after_half_the_deadline_is_not_trusted_and_the_card_is_updated(carded, held):
    carded.press(intent="ack")
    inbound_flow.click("int_fake", _request(age=2.0))  # 2 s of a 3 s deadline were gone before the reply
    assert _record()["card_digest"] != _card_now()
    assert held() == ["updated"]
    assert [card.status for _, card in carded.updated] == ["acknowledged"]
    assert _record()["card_digest"] == _card_now()


def test_a_click_on_a_platform_whose_deadline_is_unknown_is_updated_through_the_api(carded, held, monkeypatch):
    monkeypatch.setattr(carded, "click_reply_seconds", None)
    carded.press(intent="resolve")
    inbound_flow.click("int_fake", _request())
    assert held() == ["updated"]
    assert carded.updated[-1][1].status == "resolved"


def _resolved_by_bob() -> None:
    member("bob", "Bob", "13800000002")
    actions.take_as("inc-1", Action.resolve, "bob", "api")


def test_a_reply_overtaken_by_a_newer_state_is_recorded_as_what_it_carried_then_corrected(carded, held, monkeypatch):
    """Alice acknowledges; before her reply is ready, Bob resolves from the API and the card's refresh runs.
    Her reply still carries 'acknowledged', and the platform applies it after that refresh."""
    carded.press(intent="ack")
    real_reply = carded.click_reply
    carried = []

    def meanwhile_resolved(self, click, outcome):
        carried.append(outcome.card.digest())
        _resolved_by_bob()
        assert _run_deliveries() == ["updated"]
        return real_reply(self, click, outcome)

    monkeypatch.setattr(carded, "click_reply", meanwhile_resolved)
    inbound_flow.click("int_fake", _request())
    assert _record()["card_digest"] == carried[0] != _card_now()
    assert held() == ["updated"]
    assert carded.updated[-1][1].status == "resolved" and _record()["card_digest"] == _card_now()


def test_a_reply_applied_after_a_newer_refresh_is_corrected_by_the_settle_job(carded, held):
    """The reply was recorded in time, then Bob resolved and the refresh updated the card, and only then
    did the platform apply Alice's (still timely) reply: the card shows 'acknowledged' again."""
    carded.press(intent="ack")
    inbound_flow.click("int_fake", _request())
    _resolved_by_bob()
    assert _run_deliveries() == ["updated"] and _record()["card_digest"] == _card_now()
    assert held() == ["updated"]
    assert [card.status for _, card in carded.updated] == ["resolved", "resolved"]


def test_a_redelivered_click_answered_with_the_current_card_is_settled_too(carded, held):
    carded.press(intent="ack")
    inbound_flow.click("int_fake", _request())
    held()
    inbound_flow.click("int_fake", _request(age=5.0))  # a late duplicate: 已处理 with the current card
    assert held() == ["unchanged"]


def test_a_refused_click_on_a_card_its_reply_cannot_update_brings_that_card_up_to_date(carded, monkeypatch):
    """WeCom-like: the reply carries no card. The card missed the resolve (its update failed), so it still
    offers 认领; pressing it is refused, and the click's fresh update code brings the card up to date."""
    from chalicelib.common.errors import Permanent
    monkeypatch.setattr(carded, "click_reply_seconds", None)
    carded.fail_with = [Permanent("fake", "response_code.spent", "no update code left")]
    _resolved_by_bob()
    for job in drain("deliveries"):
        worker.handle_delivery(json.dumps(job["body"]))  # the update is refused: recorded, not retried
    assert carded.updated == [] and _record()["card_digest"] != _card_now()
    click = _click(carded, intent="ack")
    click.reply_updates_card, click.ref_update = False, {"response_code": "fresh"}
    monkeypatch.setattr(carded, "parse_callback", lambda self, request, endpoint: click)
    answer = inbound_flow.click("int_fake", _request())
    assert answer.body["ok"] is False
    assert _run_deliveries() == ["updated"]
    ref, card = carded.updated[-1]
    assert card.status == "resolved" and ref["response_code"] == "fresh"
