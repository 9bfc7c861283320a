"""Members through the admin API (issue 16): paged list, change, delete, unlink, and 个人渠道 (channels):
a member is paged where they chose, by default wherever linked, and ``unbound`` only where it means something."""
from __future__ import annotations

import json

import pytest

from chalicelib.flows import consumers as worker
from chalicelib.store import deliveries, people
from tests.factories import member, notification, stored_integration
from tests.unit.test_delivery_flow import _run_deliveries

LINKED = "2026-01-01T00:00:00Z"


@pytest.fixture
def api(admin_call):
    stored_integration("fake", "int_other")  # a second organisation's app, alice linked on both
    return admin_call


def _alice_on_both() -> None:
    member("alice", "Alice")
    people.bind("alice", "int_fake", "u-alice", "Alice", LINKED)
    people.bind("alice", "int_other", "o-alice", "Alice", LINKED)


def _paged(incident_id: str = "inc-1") -> dict[str, str]:
    worker.handle_notification(json.dumps(notification(incident_id)))
    _run_deliveries()
    return {d["integration_id"]: d["state"] for d in deliveries.of(incident_id)}


def test_members_are_listed_a_page_at_a_time(api):
    for n in range(5):
        member(f"m-{n}", f"Member {n}", f"1380000000{n}")
    seen, after = [], None
    while True:
        status, page = api("GET", "/members?limit=2" + (f"&after={after}" if after else ""))
        assert status == 200 and len(page["members"]) <= 2
        seen += [m["id"] for m in page["members"]]
        if not (after := page["next"]):
            break
    assert sorted(seen) == [f"m-{n}" for n in range(5)]
    assert api("GET", "/members?limit=0")[0] == api("GET", "/members?limit=x")[0] == 400


def test_a_member_is_changed_and_a_field_set_to_null_removed(api):
    _alice_on_both()
    status, view = api("PATCH", "/members/alice", {"name": "Alice Wang", "email": "alice@example.com"})
    assert status == 200 and (view["name"], view["email"], view["mobile"]) == ("Alice Wang", "alice@example.com",
                                                                                "13800000001")
    status, view = api("PATCH", "/members/alice", {"mobile": None})
    assert status == 200 and view["mobile"] is None and people.get_member("alice").get("mobile") is None
    assert api("PATCH", "/members/alice", {"name": None})[0] == 400
    assert api("PATCH", "/members/alice", {"mobile": "not a number"})[0] == 400
    assert api("PATCH", "/members/nobody", {"name": "x"})[0] == 404


def test_by_default_a_member_is_paged_wherever_linked_and_nowhere_else_recorded_unbound(api):
    _alice_on_both()
    stored_integration("fake", "int_third")  # alice never opened this one: no unbound row for it
    assert _paged() == {"int_fake": "sent", "int_other": "sent"}


def test_channels_choose_where_a_member_is_paged_and_a_chosen_unlinked_one_is_unbound(api):
    _alice_on_both()
    stored_integration("fake", "int_third")
    status, view = api("PATCH", "/members/alice", {"channels": ["int_other", "int_third"]})
    assert status == 200 and view["channels"] == ["int_other", "int_third"]
    assert _paged() == {"int_other": "sent", "int_third": "unbound"}
    assert api("PATCH", "/members/alice", {"channels": None})[0] == 200  # back to wherever linked
    assert _paged("inc-2") == {"int_fake": "sent", "int_other": "sent"}


def test_a_member_linked_nowhere_is_recorded_unbound_on_every_integration(api):
    member("alice", "Alice")
    assert _paged() == {"int_fake": "unbound", "int_other": "unbound"}


@pytest.mark.parametrize(("channels", "problem"), [(["int_nope"], "does not exist"), ([], "at least 1"),
                                                   (["bad id!"], "pattern")])
def test_channels_must_name_integrations_that_page_people(api, channels, problem):
    member("alice", "Alice")
    status, answer = api("PATCH", "/members/alice", {"channels": channels})
    assert status == 400 and problem in answer["message"], answer


def test_unlinking_and_deleting_a_member(api):
    _alice_on_both()
    assert api("DELETE", "/members/alice/bindings/int_fake") == (204, {})
    assert [b["integration_id"] for b in api("GET", "/members/alice")[1]["bindings"]] == ["int_other"]
    assert api("DELETE", "/members/alice/bindings/int_fake")[0] == 404  # not linked there any more
    assert api("DELETE", "/members/alice") == (204, {})
    assert api("GET", "/members/alice")[0] == 404 and people.bindings_of("alice") == []
    assert api("DELETE", "/members/alice")[0] == 404
