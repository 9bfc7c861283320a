"""The sweep: a delivery recorded but never queued (a crash in between) is queued again, once."""
from __future__ import annotations

import json

import pytest

from app import app
from chalicelib.common import clock, queues
from chalicelib.common.errors import Paced
from chalicelib.delivery import admission
from chalicelib.flows import consumers as worker
from chalicelib.store import deliveries, people
from chalicelib.store.deliveries import LOST_AFTER
from tests.conftest import drain
from tests.factories import member, notification


def _run_deliveries() -> list[str]:
    from chalicelib.core.models import DeliveryJob
    from chalicelib.delivery import pipeline as delivery
    outcomes = []
    while jobs := drain("deliveries"):
        outcomes += [delivery.deliver(DeliveryJob.model_validate(job["body"])) for job in jobs]
    return outcomes


@pytest.fixture
def crashed(fake_platform, monkeypatch):
    """inc-1 for Alice (bound): the delivery is recorded, then the process dies before queueing its job."""
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", "2026-01-01T00:00:00Z")
    with monkeypatch.context() as crash:
        crash.setattr(queues, "deliver", lambda jobs, delay=0: None)
        worker.handle_notification(json.dumps(notification()))
    (record,) = deliveries.of("inc-1")
    assert record["state"] == "pending" and drain("deliveries") == []
    return fake_platform


def test_a_delivery_never_queued_is_queued_again_once_it_is_overdue(crashed):
    worker.requeue_lost()
    assert drain("deliveries") == []  # not overdue yet: its job may still be on its way
    clock.advance(LOST_AFTER + 1)
    worker.requeue_lost()
    assert _run_deliveries() == ["sent"]
    assert len(crashed.sent) == 1 and deliveries.of("inc-1")[0]["state"] == "sent"
    clock.advance(3600)
    worker.requeue_lost()
    assert drain("deliveries") == []


def test_each_lost_delivery_is_queued_once_however_often_the_sweep_runs(crashed):
    from chalicelib.delivery import pipeline as delivery
    clock.advance(LOST_AFTER + 1)
    assert delivery.requeue_lost() == 1
    assert delivery.requeue_lost() == 0
    assert len(drain("deliveries")) == 1


def test_a_deferral_whose_job_was_lost_is_queued_again_after_its_slot(fake_platform, monkeypatch):
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", "2026-01-01T00:00:00Z")
    worker.handle_notification(json.dumps(notification()))
    (job,) = drain("deliveries")

    def full(*args, **kwargs):
        raise Paced("window full", retry_after=600, slot_at=clock.now() + 600)

    with monkeypatch.context() as crash:
        crash.setattr(admission, "pace", full)
        crash.setattr(queues, "deliver", lambda jobs, delay=0: None)  # the deferred job never reaches SQS
        worker.handle_delivery(json.dumps(job["body"]))
    assert deliveries.of("inc-1")[0]["state"] == "deferred"
    clock.advance(600 + LOST_AFTER - 10)
    worker.requeue_lost()
    assert drain("deliveries") == []  # its slot plus the grace have not passed
    clock.advance(20)
    worker.requeue_lost()
    assert _run_deliveries() == ["sent"]


def test_delivered_unbound_and_failed_cards_are_never_swept(fake_platform):
    member()
    member("bob", "Bob", "13800000002")
    people.bind("alice", "int_fake", "u-alice", "Alice", "2026-01-01T00:00:00Z")
    worker.handle_notification(json.dumps(notification(members=("alice", "bob", "nobody"))))
    assert _run_deliveries() == ["sent"]
    clock.advance(30 * 86400)
    from chalicelib.delivery import pipeline as delivery
    assert delivery.requeue_lost() == 0
    assert sorted(d["state"] for d in deliveries.of("inc-1")) == ["failed", "sent", "unbound"]


def test_the_sweep_queries_an_index_instead_of_scanning_deliveries(crashed, monkeypatch):
    from chalicelib.store import deliveries as store

    def no_scan(*args, **kwargs):
        raise AssertionError("the sweep scanned the deliveries table")

    monkeypatch.setattr(store, "scan_all", no_scan)
    monkeypatch.setattr(type(store._table()), "scan", no_scan, raising=False)
    clock.advance(LOST_AFTER + 1)
    from chalicelib.delivery import pipeline as delivery
    assert delivery.requeue_lost() == 1


def test_the_sweep_runs_every_five_minutes():
    (sweep,) = [s for s in app.event_sources if getattr(s, "name", "") == "sweep_lost_deliveries"]
    assert sweep.schedule_expression == "rate(5 minutes)"
