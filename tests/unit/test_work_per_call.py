"""How much work a notification and a click cost, counted in AWS calls, so that a regression shows."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from chalicelib.common import queues
from chalicelib.core.callback import Click, InboundRequest, Intent
from chalicelib.core.models import DeliveryJob
from chalicelib.delivery import pipeline
from chalicelib.flows import callbacks as inbound_flow
from chalicelib.flows import consumers as worker
from chalicelib.store import deliveries, people
from chalicelib.store import integrations as integration_store
from tests.calls import counted, reads
from tests.conftest import drain
from tests.factories import member, notification
from tests.fakes import FakeCard

PACKAGE = Path(__file__).resolve().parents[2] / "chalicelib"
SENDS = {"send_message", "send_message_batch"}


def _run_deliveries() -> None:
    while jobs := drain("deliveries"):
        for job in jobs:
            worker.handle_delivery(json.dumps(job["body"]))


@pytest.fixture
def alice(fake_platform):
    """Alice bound on the fake integration, which opens a war room for every critical incident."""
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", "2026-01-01T00:00:00Z")
    item = integration_store.get("int_fake")
    integration_store.replace({**item, "settings": {"war_room_auto_critical": True}})
    return fake_platform


def test_only_the_queue_module_sends_to_sqs():
    senders = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                     if any(isinstance(node, ast.Attribute) and node.attr in SENDS
                            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))))
    assert senders == ["common/queues.py"]


def test_a_new_critical_incident_is_written_without_a_read_and_its_war_room_left_to_its_queue(alice, monkeypatch):
    with counted(monkeypatch) as calls:
        worker.handle_notification(json.dumps(notification()))
    assert reads(calls, "incidents") == 0 and calls["PutItem incidents"] == 1
    assert calls["Query deliveries"] == 0  # a new incident has no earlier deliveries to try again
    assert reads(calls, "integrations") == 1 and calls["Query integrations"] == 1  # the listing, not a scan
    assert calls["PutItem ephemeral"] == 0  # no room claimed here
    assert alice.rooms == [] and len(drain("war-rooms")) == 1


def test_opening_a_room_reads_its_incident_once(alice, monkeypatch):
    worker.handle_notification(json.dumps(notification()))
    (room,) = drain("war-rooms")
    with counted(monkeypatch) as calls:
        worker.handle_room(json.dumps(room["body"]))
    assert len(alice.rooms) == 1 and calls["GetItem incidents"] == 1


def test_a_changed_incident_comes_back_with_the_refused_create_and_the_integrations_from_memory(alice, monkeypatch):
    worker.handle_notification(json.dumps(notification(severity="warning")))
    with counted(monkeypatch) as calls:
        worker.handle_notification(json.dumps(notification(severity="warning", title="CPU > 99% on db-1")))
    assert reads(calls, "incidents") == 0 and calls["PutItem incidents"] == 2  # the refused create, the save
    assert reads(calls, "integrations") == 0  # this container's copy


@pytest.fixture
def carded(alice, monkeypatch):
    """inc-1's card delivered to Alice; jobs queued with a delay (a click's settle job) are held back."""
    worker.handle_notification(json.dumps(notification(severity="warning")))
    _run_deliveries()
    held: list[DeliveryJob] = []
    real = queues.deliver
    monkeypatch.setattr(queues, "deliver", lambda jobs, delay=0: held.extend(jobs) if delay else real(jobs))
    monkeypatch.setattr(alice, "click_reply_seconds", 3.0)
    (record,) = deliveries.of("inc-1")
    click = Click(user_id="u-alice", incident_id="inc-1", intent=Intent.ack, card=FakeCard(record["ref"]["card"]),
                  dedupe_key="click-1")
    monkeypatch.setattr(alice, "parse_callback", lambda self, request, endpoint: click)
    return held


def test_a_click_lists_its_incidents_deliveries_once(carded, monkeypatch):
    with counted(monkeypatch) as calls:
        answer = inbound_flow.click("int_fake", InboundRequest(method="POST", query={}, headers={}, body=b"{}"))
    assert answer.body["ok"] is True
    assert calls["Query deliveries"] == 1  # the clicked card, the others' refresh and the reply's settle job


def test_a_settle_job_finding_the_reply_shown_reads_the_card_and_the_incident_only(carded, monkeypatch):
    inbound_flow.click("int_fake", InboundRequest(method="POST", query={}, headers={}, body=b"{}"))
    (settle,) = carded
    with counted(monkeypatch) as calls:
        assert pipeline.deliver(settle) == "unchanged"
    # the card read and leased in one write, its lease given back; the integration is this container's copy
    assert (calls["UpdateItem deliveries"], calls["GetItem incidents"], reads(calls, "integrations")) == (2, 1, 0)
