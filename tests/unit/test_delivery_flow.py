"""Fan-out and delivery with a recording adapter: idempotency, unbound, retries, parking."""
from __future__ import annotations

import json

from chalicelib.common import queues
from chalicelib.common.errors import Permanent, PlatformUnavailable, RateLimited, Retryable
from chalicelib.flows import consumers as worker
from chalicelib.store import deliveries, people
from tests.conftest import drain
from tests.factories import member, notification


def _run_deliveries() -> int:
    """Run every queued delivery job through the worker until the queue is empty."""
    count = 0
    while jobs := drain("deliveries"):
        for job in jobs:
            worker.handle_delivery(json.dumps(job["body"]))
            count += 1
    return count


def _bound_alice():
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", "2026-01-01T00:00:00Z")


def test_bound_member_gets_one_card_even_when_the_message_repeats(fake_platform):
    _bound_alice()
    body = json.dumps(notification())
    worker.handle_notification(body)
    worker.handle_notification(body)
    _run_deliveries()
    assert len(fake_platform.sent) == 1
    kind, target, card, _ = fake_platform.sent[0]
    assert (kind, target, card.status) == ("user", "u-alice", "triggered")
    assert deliveries.of("inc-1")[0]["state"] == "sent"


def test_new_status_updates_the_card_instead_of_sending_another(fake_platform):
    _bound_alice()
    worker.handle_notification(json.dumps(notification()))
    _run_deliveries()
    worker.handle_notification(json.dumps(notification(status="resolved")))
    _run_deliveries()
    assert len(fake_platform.sent) == 1 and len(fake_platform.updated) == 1
    assert fake_platform.updated[0][1].status == "resolved"


def test_unbound_member_is_recorded_not_sent(fake_platform):
    member()
    worker.handle_notification(json.dumps(notification()))
    _run_deliveries()
    record = deliveries.of("inc-1")[0]
    assert record["state"] == "unbound" and "未关联应用" in record["error"]
    assert fake_platform.sent == []


def test_throttled_delivery_is_requeued_with_the_platform_delay(fake_platform, monkeypatch):
    _bound_alice()
    fake_platform.fail_with = [RateLimited("fake", "90018", "too fast", retry_after=1.0)]
    worker.handle_notification(json.dumps(notification()))
    first = drain("deliveries")
    requeued = []
    monkeypatch.setattr(queues, "deliver", lambda jobs, delay=0: requeued.extend((j, delay) for j in jobs))
    worker.handle_delivery(json.dumps(first[0]["body"]))
    assert deliveries.of("inc-1")[0]["state"] == "deferred"
    (job, delay), = requeued
    assert (job.attempt, delay) == (1, 1)
    worker.handle_delivery(job.model_dump_json())
    assert deliveries.of("inc-1")[0]["state"] == "sent"


def test_permanent_error_is_recorded_with_the_platform_code(fake_platform):
    _bound_alice()
    fake_platform.fail_with = [Permanent("fake", "param.invalid", "bad card")]
    worker.handle_notification(json.dumps(notification()))
    _run_deliveries()
    record = deliveries.of("inc-1")[0]
    assert record["state"] == "failed" and "param.invalid" in record["error"]


def test_retries_stop_after_the_last_attempt(fake_platform, monkeypatch):
    monkeypatch.setattr(worker, "backoff", lambda attempt: 0)
    _bound_alice()
    fake_platform.fail_with = [Retryable("fake", "-1", "busy")] * worker.MAX_ATTEMPTS
    worker.handle_notification(json.dumps(notification()))
    assert _run_deliveries() == worker.MAX_ATTEMPTS
    record = deliveries.of("inc-1")[0]
    assert record["state"] == "failed" and "gave up" in record["error"]


def test_invalid_notification_is_parked_in_the_dlq_with_its_error(aws_env):
    worker.handle_notification('{"version": 1, "incident": {"id": "x"}}')
    worker.handle_notification("not json at all")
    parked = drain("notifications-dlq")
    assert len(parked) == 2
    assert "incident.title" in parked[0]["attributes"]["error"]["StringValue"]


def test_chat_target_unknown_to_the_integration_is_recorded_failed(fake_platform):
    worker.handle_notification(json.dumps(notification(members=(), chats=[{"integration_id": "int_fake",
                                                                           "chat_id": "cid-1"}])))
    record = deliveries.of("inc-1")[0]
    assert record["state"] == "failed" and "install the app" in record["error"]


def test_member_linked_after_an_unbound_delivery_gets_the_card_on_the_next_update(fake_platform):
    member()
    worker.handle_notification(json.dumps(notification()))
    people.bind("alice", "int_fake", "u-alice", "Alice", "2026-01-01T00:00:00Z")
    worker.handle_notification(json.dumps(notification(title="CPU > 99% on db-1")))
    _run_deliveries()
    assert [(d["state"], d["target"]) for d in deliveries.of("inc-1")] == [("sent", "u-alice")]


def test_members_targeted_without_any_integration_leave_a_timeline_note(aws_env):
    member()
    worker.handle_notification(json.dumps(notification()))
    from chalicelib.core import incidents
    assert incidents.get("inc-1")["timeline"][-1]["action"] == "undeliverable"


def test_a_chat_the_platform_says_is_gone_is_marked_inactive(fake_platform):
    from chalicelib.common.errors import TargetGone
    from chalicelib.store import chats
    chats.upsert("int_fake", "cid-1", active=True, title="SRE")
    fake_platform.fail_with = [TargetGone("fake", "230002", "bot not in chat")]
    worker.handle_notification(json.dumps(notification(members=(), chats=[{"integration_id": "int_fake",
                                                                           "chat_id": "cid-1"}])))
    _run_deliveries()
    assert chats.get("int_fake", "cid-1")["active"] is False
    assert deliveries.of("inc-1")[0]["state"] == "failed"


def test_linking_stops_looking_up_after_the_platforms_miss_limit(fake_platform, monkeypatch):
    from chalicelib.flows import linking
    monkeypatch.setattr(fake_platform, "mobile_miss_limit", 2)
    for n in range(4):
        member(f"m{n}", f"M{n}", f"1390000000{n}")
    member("zz-alice", "Alice", "13800000001")
    result = linking.link_members("int_fake")
    assert result == {"linked": 0, "already": 0, "not_found": ["m0", "m1"], "skipped": ["m2", "m3", "zz-alice"]}


def test_a_block_that_keeps_answering_gets_a_growing_wait(fake_platform, monkeypatch):
    from chalicelib.core.models import DeliveryJob
    delays = []
    monkeypatch.setattr(queues, "deliver", lambda jobs, delay=0: delays.append(delay))
    job = DeliveryJob(incident_id="inc-1", integration_id="int_fake", kind="user", target="u")
    for attempt in range(6):
        worker.retry_later(job.model_copy(update={"attempt": attempt}),
                           RateLimited("fake", "45009", "", retry_after=60))
    assert delays == [60, 60, 60, 60, 80, 160]


def test_a_change_made_from_chat_or_the_api_is_published_for_the_producer(client, admin_headers):
    member()
    client.http.post("/incidents", headers=admin_headers, body=json.dumps(notification(members=())))
    client.http.post("/incidents/inc-1/actions", headers=admin_headers,
                     body=json.dumps({"action": "ack", "by": "alice"}))
    (event,) = drain("incident-events")
    assert event["body"]["type"] == "incident.changed"
    assert event["body"]["incident"]["status"] == "acknowledged" and event["body"]["change"]["by"] == "alice"


def test_a_status_change_during_the_first_send_reaches_the_card(fake_platform, monkeypatch):
    """Refreshes queued while the first card is on its way skip it (no reference yet): it catches up alone."""
    _bound_alice()
    worker.handle_notification(json.dumps(notification()))
    send = fake_platform.send_card

    def resolved_meanwhile(self, *args):
        answer = send(self, *args)
        if len(fake_platform.sent) == 1:
            worker.handle_notification(json.dumps(notification(status="resolved")))
        return answer
    monkeypatch.setattr(fake_platform, "send_card", resolved_meanwhile)
    _run_deliveries()
    assert [card.status for _, card in fake_platform.updated] == ["resolved"]


def test_a_send_retried_after_its_answer_was_lost_is_brought_up_to_date(fake_platform, monkeypatch):
    """The platform may have kept the first attempt (its duplicate check answers with that card), so the
    retried send is not taken as showing its own content: one update follows."""
    monkeypatch.setattr(worker, "backoff", lambda attempt: 0)
    _bound_alice()
    fake_platform.fail_with = [PlatformUnavailable("fake", "transport", "ReadTimeout")]
    worker.handle_notification(json.dumps(notification()))
    _run_deliveries()
    assert len(fake_platform.sent) == 1 and len(fake_platform.updated) == 1
    assert "answer_lost" not in deliveries.of("inc-1")[0]


def test_a_send_retried_after_a_throttle_costs_no_extra_update(fake_platform, monkeypatch):
    monkeypatch.setattr(worker, "backoff", lambda attempt: 0)
    _bound_alice()
    fake_platform.fail_with = [RateLimited("fake", "90018", "too fast", retry_after=0)]
    worker.handle_notification(json.dumps(notification()))
    _run_deliveries()
    assert len(fake_platform.sent) == 1 and fake_platform.updated == []
