"""The incident state machine: forward-only, compare-and-set, refusals that say who and when."""
from __future__ import annotations

import threading

import pytest

from chalicelib.common import clock
from chalicelib.common.errors import Conflict
from chalicelib.core import incidents
from chalicelib.core.models import Action, IncidentFields

ALICE = {"id": "alice", "name": "Alice"}
BOB = {"id": "bob", "name": "Bob"}


def _new(**fields) -> dict:
    return incidents.ingest(IncidentFields(id="inc-1", title="db down", severity="critical", **fields))[0]


def test_ingest_creates_then_merges_fields(aws_env):
    first = _new()
    assert first["version"] == 1 and first["timeline"][0]["action"] == "triggered"
    second, changed = incidents.ingest(IncidentFields(id="inc-1", title="db really down", severity="critical"))
    assert changed and second["title"] == "db really down" and second["version"] == 2


def test_ingest_of_same_fields_changes_nothing(aws_env):
    _new()
    assert incidents.ingest(IncidentFields(id="inc-1", title="db down", severity="critical"))[1] is False


def test_producer_cannot_move_status_backwards(aws_env):
    _new()
    incidents.act("inc-1", Action.ack, ALICE, "dingtalk")
    incident, _ = incidents.ingest(IncidentFields(id="inc-1", title="db down", severity="critical", status="triggered"))
    assert incident["status"] == "acknowledged"


def test_ack_after_resolve_is_refused_naming_who_and_when(aws_env):
    _new()
    incidents.act("inc-1", Action.resolve, BOB, "dingtalk")
    with pytest.raises(Conflict, match="already resolved by Bob"):
        incidents.act("inc-1", Action.ack, ALICE, "dingtalk")


def test_silence_sets_until_and_default_two_hours(aws_env):
    _new()
    incident = incidents.act("inc-1", Action.silence, ALICE, "api")
    assert clock.parse_iso(incident["silenced_until"]) == pytest.approx(clock.now() + 7200, abs=2)
    assert incidents.is_silenced(incident)
    clock.advance(7201)
    assert not incidents.is_silenced(incident)


def test_racing_clicks_never_lose_one(aws_env, atomic_conditions):
    _new()
    outcomes = []

    def click(member, action):
        try:
            incidents.act("inc-1", action, member, "dingtalk")
            outcomes.append((member["id"], action.value, "ok"))
        except Conflict:
            outcomes.append((member["id"], action.value, "refused"))

    threads = [threading.Thread(target=click, args=(ALICE, Action.ack)),
               threading.Thread(target=click, args=(BOB, Action.silence))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = incidents.get("inc-1")
    assert sorted(o[2] for o in outcomes) == ["ok", "ok"]
    assert final["status"] == "acknowledged" and final["silenced_until"]
    assert [e["action"] for e in final["timeline"]][1:] in (["ack", "silence"], ["silence", "ack"])
    assert final["version"] == 3
