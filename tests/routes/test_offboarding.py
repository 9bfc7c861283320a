"""Offboarding (issue 16): a platform's departure event revokes the binding of the person who left; the
member view says so, paging records them unbound with that reason, their clicks do not act as the member,
and relinking binds them again. The platform's own event shapes are tested with each platform's callbacks."""
from __future__ import annotations

import json

import pytest

from chalicelib.core.callback import ChatEvents, Click, Departure, InboundRequest, Intent, Reply
from chalicelib.flows import actions, callbacks, linking
from chalicelib.flows import consumers as worker
from chalicelib.store import deliveries, incidents, people
from tests.factories import member, notification, stored_integration
from tests.fakes import FakeAdapter
from tests.unit.test_delivery_flow import _run_deliveries


@pytest.fixture
def depart(admin_call, monkeypatch):
    """``depart(user_id, event_id)``: the fake platform pushes a departure to int_fake's events URL."""
    def push(user_id: str, event_id: str = "ev-1") -> Reply:
        parsed = ChatEvents(reply=Reply(body={"ok": True}), dedupe_key=event_id,
                            departures=[Departure(user_id, "fake_leave")])
        monkeypatch.setattr(FakeAdapter, "parse_callback", lambda self, request, endpoint: parsed)
        return callbacks.event("int_fake", InboundRequest("POST", {}, {}, b"{}"))

    member("alice", "Alice")
    people.bind("alice", "int_fake", "u-alice", "Alice", "2026-01-01T00:00:00Z")
    return push


def test_a_departure_revokes_the_binding_and_the_member_view_says_so(depart, admin_call):
    assert depart("u-alice").body == {"ok": True}
    assert people.binding("alice", "int_fake") is None
    status, view = admin_call("GET", "/members/alice")
    assert status == 200 and view["bindings"] == []
    (left,) = view["left"]
    assert left["integration_id"] == "int_fake" and left["user_id"] == "u-alice" and left["event"] == "fake_leave"
    assert left["left_at"]


def test_a_departed_member_is_paged_nowhere_and_the_delivery_says_they_left(depart, fake_platform):
    depart("u-alice")
    worker.handle_notification(json.dumps(notification()))
    _run_deliveries()
    (record,) = deliveries.of("inc-1")
    assert record["state"] == "unbound" and fake_platform.sent == []
    assert all(word in record["error"] for word in ("已离职", "left the organisation", "fake_leave"))


def test_a_click_from_the_departed_user_does_not_act_as_the_member(depart):
    worker.handle_notification(json.dumps(notification()))
    depart("u-alice")
    outcome = actions.from_click("int_fake", "fake", Click(user_id="u-alice", incident_id="inc-1", intent=Intent.ack))
    assert outcome.ok is False and incidents.get("inc-1")["status"] == "triggered"


def test_relinking_binds_again_and_the_trace_goes(depart, admin_call):
    depart("u-alice")
    assert linking.link_members("int_fake")["linked"] == 1  # back in the organisation, found by mobile again
    status, view = admin_call("GET", "/members/alice")
    assert [b["user_id"] for b in view["bindings"]] == ["u-alice"] and view["left"] == []
    assert "left" not in people.get_member("alice")


def test_the_same_departure_redelivered_is_not_applied_again(depart):
    depart("u-alice", "ev-1")
    linking.link_members("int_fake")
    depart("u-alice", "ev-1")  # the platform's retry of the push already applied
    assert people.binding("alice", "int_fake") is not None


def test_a_departure_of_someone_bound_to_nobody_is_accepted_and_changes_nothing(depart, admin_call):
    assert depart("u-stranger").body == {"ok": True}
    assert people.binding("alice", "int_fake")["user_id"] == "u-alice"
    assert admin_call("GET", "/members/alice")[1]["left"] == []


def test_a_departure_on_one_integration_leaves_the_others(depart, admin_call):
    stored_integration("fake", "int_other")
    people.bind("alice", "int_other", "o-alice", "Alice", "2026-01-01T00:00:00Z")
    depart("u-alice")
    view = admin_call("GET", "/members/alice")[1]
    assert [b["integration_id"] for b in view["bindings"]] == ["int_other"]
    assert [entry["integration_id"] for entry in view["left"]] == ["int_fake"]
