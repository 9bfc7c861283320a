"""The marks deliveries and callbacks leave for health cost at most one write a minute per integration and
container, except a failure whose code changed, which is written at once."""
from __future__ import annotations

import json

import pytest

from chalicelib.common import clock
from chalicelib.common.errors import Permanent, TokenInvalid
from chalicelib.core.callback import InboundRequest
from chalicelib.flows import callbacks as inbound_flow
from chalicelib.flows import consumers as worker
from chalicelib.store import health, people
from tests.conftest import drain
from tests.factories import member, notification


@pytest.fixture
def writes(fake_platform, monkeypatch) -> list[tuple[str, str]]:
    """Every health write, as (integration, part)."""
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", "2026-01-01T00:00:00Z")
    made: list[tuple[str, str]] = []
    real = health._set
    monkeypatch.setattr(health, "_set", lambda i, part, value: (made.append((i, part)), real(i, part, value)))
    return made


def _deliver(*incident_ids: str) -> None:
    for incident_id in incident_ids:
        worker.handle_notification(json.dumps(notification(incident_id)))
    while jobs := drain("deliveries"):
        for job in jobs:
            try:
                worker.handle_delivery(json.dumps(job["body"]))
            except Permanent:
                pass


def test_many_delivered_cards_write_the_outcome_once(writes, fake_platform):
    _deliver("inc-1", "inc-2", "inc-3", "inc-4")
    assert len(fake_platform.sent) == 4 and writes == [("int_fake", "delivery")]
    assert health.get("int_fake")["delivery"]["state"] == "ok"


def test_a_failure_is_written_at_once_and_its_repeats_once_a_minute(writes, fake_platform):
    _deliver("inc-1")
    fake_platform.fail_with = [Permanent("fake", "40001", "invalid credential"),
                               Permanent("fake", "40001", "invalid credential")]
    _deliver("inc-2", "inc-3")
    assert writes == [("int_fake", "delivery")] * 2  # the ok, then the failure; its repeat not
    failed = health.get("int_fake")["delivery"]
    assert (failed["state"], failed["code"], failed["kind"]) == ("failed", "40001", "permanent") and failed["hint"]
    fake_platform.fail_with = [TokenInvalid("fake", "42001", "token expired")]
    _deliver("inc-4")
    assert len(writes) == 3 and health.get("int_fake")["delivery"]["code"] == "42001"  # another code: at once
    _deliver("inc-5")
    assert len(writes) == 4 and health.get("int_fake")["delivery"]["state"] == "ok"  # back to ok: at once
    _deliver("inc-6")
    clock.advance(61)
    _deliver("inc-7")
    assert len(writes) == 5  # a minute on, the same ok again


def test_a_verified_callback_is_marked_once_a_minute_per_url(writes):
    request, before = InboundRequest(method="POST", query={}, headers={}, body=b"{}"), clock.iso()
    for _ in range(3):
        inbound_flow.event("int_fake", request)
    assert writes == [("int_fake", "callback_events")]
    seen = health.get("int_fake")["callback_events"]
    assert seen["endpoint"] == "events" and before <= seen["at"] <= clock.iso()
