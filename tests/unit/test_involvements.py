"""Which incidents concern a member: recorded when they are targeted and when they act."""
from __future__ import annotations

from chalicelib.core.models import Action, Notification
from chalicelib.flows import actions, consumers
from chalicelib.store import incidents as incident_store
from chalicelib.store import involvements
from tests.factories import member, notification


def _roles(member_id: str) -> dict[str, set]:
    return {i["incident_id"]: i["roles"] for i in involvements.of(member_id)}


def test_targeted_and_acting_members_are_recorded_once_per_incident(fake_platform):
    alice, bob = member(), member("bob", "Bob", "13800000002")
    for _ in range(2):
        consumers.accept(Notification(**notification("inc-1", members=("alice", "ghost"))))
    actions.apply("inc-1", Action.ack, bob, "api")
    actions.apply("inc-1", Action.silence, alice, "api", 60)
    assert _roles("alice") == {"inc-1": {"targeted", "acted"}} and _roles("bob") == {"inc-1": {"acted"}}
    assert involvements.of("ghost") == []  # an unknown member id is not recorded
    assert len(involvements.of("alice")) == 1 and involvements.of("alice")[0]["since"]


def test_many_reads_the_incidents_that_exist_in_batches(fake_platform):
    ids = [f"inc-{n}" for n in range(130)]
    for incident_id in ids[:120]:
        consumers.accept(Notification(**notification(incident_id, members=())))
    found = incident_store.many(ids)
    assert sorted(i["id"] for i in found) == sorted(ids[:120]) and all(i["version"] >= 1 for i in found)
