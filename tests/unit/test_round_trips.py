"""What a warm container keeps, and the writes that replace reads: every guarantee holds with fewer round trips
(issue 17). Another container is played by a second copy of ``warm``'s memory."""
from __future__ import annotations

import json

import pytest

from chalicelib.common import aws, clock, warm
from chalicelib.core import incidents
from chalicelib.delivery import pacing
from chalicelib.flows import consumers as worker
from chalicelib.platforms.base import Window
from chalicelib.store import deliveries, ephemeral, ledger, people
from chalicelib.store import integrations as integration_store
from infra.bootstrap import bootstrap
from tests.calls import counted, dynamo_total
from tests.conftest import drain
from tests.factories import member, notification


@pytest.fixture
def later(monkeypatch):
    """Move warm's clock on by ``seconds``."""
    now = [warm.monotonic()]
    monkeypatch.setattr(warm, "monotonic", lambda: now[0])

    def move(seconds: float) -> None:
        now[0] += seconds
    return move


@pytest.fixture
def other_container(monkeypatch):
    """Run a block as another container would: with its own (empty) warm memory."""
    import contextlib

    @contextlib.contextmanager
    def inside():
        mine = dict(warm._entries)
        warm._entries.clear()
        try:
            yield
        finally:
            warm._entries.clear()
            warm._entries.update(mine)
    return inside


def _deliver_all() -> None:
    while jobs := drain("deliveries"):
        for job in jobs:
            worker.handle_delivery(json.dumps(job["body"]))


def test_a_warm_container_delivers_a_card_in_at_most_eight_dynamodb_calls_and_no_scan(fake_platform, monkeypatch):
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    worker.handle_notification(json.dumps(notification("inc-0")))
    _deliver_all()
    with counted(monkeypatch) as calls:
        worker.handle_notification(json.dumps(notification("inc-1")))
        _deliver_all()
    assert len(fake_platform.sent) == 2
    assert dynamo_total(calls) <= 8, calls
    assert not any(name.startswith("Scan") for name in calls)


def test_an_integration_changed_by_another_container_is_seen_once_its_copy_expires(aws_env, later, other_container):
    from tests.factories import stored_integration

    stored_integration()
    assert integration_store.get("int_fake")["name"] == "test"
    with other_container():
        integration_store.replace({**integration_store.get("int_fake"), "name": "renamed"})
    assert integration_store.get("int_fake")["name"] == "test"  # this container's copy, still young
    later(integration_store.CACHE_SECONDS)
    assert integration_store.get("int_fake")["name"] == "renamed"
    assert [i["name"] for i in integration_store.all()] == ["renamed"]


def test_a_change_through_this_container_is_seen_at_once_and_copies_cannot_be_changed_by_callers(aws_env):
    from tests.factories import stored_integration

    stored_integration()
    integration_store.get("int_fake")["name"] = "scribbled"
    assert integration_store.get("int_fake")["name"] == "test"
    integration_store.replace({**integration_store.get("int_fake"), "name": "renamed"})
    assert integration_store.get("int_fake")["name"] == "renamed"
    assert [i["name"] for i in integration_store.all()] == ["renamed"]
    integration_store.delete("int_fake")
    assert integration_store.get("int_fake") is None and integration_store.all() == []


def test_integrations_are_listed_through_the_index_and_old_ones_are_listed_by_the_bootstrap(aws_env, monkeypatch):
    from tests.factories import stored_integration

    stored_integration()
    aws.table("integrations").update_item(Key={"id": "int_fake"}, UpdateExpression="REMOVE listing")  # an old item
    warm.reset()
    assert integration_store.all() == []
    bootstrap("dutybridge-test")
    warm.reset()
    with counted(monkeypatch) as calls:
        assert [i["id"] for i in integration_store.all()] == ["int_fake"]
    assert calls == {"Query integrations": 1}


def test_the_monthly_budget_is_never_overshot_whatever_a_container_last_saw(aws_env, other_container):
    assert [ledger.count("int_x", "send", monthly=3) for _ in range(2)] == [True, True]
    with other_container():
        assert ledger.calls("int_x") == 2
        assert ledger.count("int_x", "send", monthly=3) is True
    assert ledger.calls("int_x") == 2  # this container's sight, not yet the other's count
    assert ledger.count("int_x", "send", monthly=3) is False  # the count itself refuses the fourth
    assert ledger.calls("int_x") == 3 and ledger.get("int_x", ledger.month())["calls"] == 3
    assert ledger.count("int_x", "send") is True  # no budget, no condition


def test_a_container_books_on_the_stored_window_when_another_booked_since_it_looked(aws_env, monkeypatch,
                                                                                    other_container):
    monkeypatch.setattr(clock, "now", lambda: 1_800_000_000.0)
    window = Window("member#zhang", 2, 60)
    assert pacing.reserve([window]) is None  # this container: 1 of 2
    with other_container():
        assert pacing.reserve([window]) is None  # the other: 2 of 2
    with counted(monkeypatch) as calls:
        assert pacing.reserve([window]) is not None  # no overbooking: the refused write brought the book
    assert calls["PutItem ephemeral"] == 2 and calls["GetItem ephemeral"] == 0
    stored = aws.table("ephemeral").get_item(Key={"key": "rate#member#zhang#60"})["Item"]
    assert sum(int(n) for n in stored["slots"].values()) == 3 and stored["version"] == 3


def test_a_call_under_several_limits_books_them_all_in_one_transaction_or_none(aws_env, monkeypatch,
                                                                              other_container):
    monkeypatch.setattr(clock, "now", lambda: 1_800_000_000.0)
    app_limit, receiver_limit = Window("app#cli_1", 50, 1), Window("receiver#ou_1", 1, 60)
    with counted(monkeypatch) as calls:
        assert pacing.reserve([app_limit, receiver_limit]) is None
    assert calls == {"GetItem ephemeral": 2, "TransactWriteItems": 1}  # never seen: read once, then one write
    with other_container():
        assert pacing.reserve([Window("receiver#ou_1", 1, 60)]) is not None  # the receiver's minute: full, booked
    later = pacing.reserve([app_limit, receiver_limit])  # this container's receiver book is stale: refused, again
    assert later is not None and later > 1_800_000_060
    app = aws.table("ephemeral").get_item(Key={"key": "rate#app#cli_1#1"})["Item"]
    assert sum(int(n) for n in app["slots"].values()) == 2  # once for each card: the refused try kept nothing


def test_a_first_card_catches_up_when_its_incident_moved_on_during_the_send(fake_platform, monkeypatch):
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    worker.handle_notification(json.dumps(notification()))
    real_send = fake_platform.send_card

    def send_while_acknowledged(self, *args, **kwargs):
        incidents.act("inc-1", incidents.Action.ack, {"id": "bob", "name": "Bob"}, "api")
        return real_send(self, *args, **kwargs)
    monkeypatch.setattr(fake_platform, "send_card", send_while_acknowledged)
    (job,) = drain("deliveries")
    worker.handle_delivery(json.dumps(job["body"]))
    (again,) = drain("deliveries")  # the record went in without the check: the card must catch up
    monkeypatch.setattr(fake_platform, "send_card", real_send)
    worker.handle_delivery(json.dumps(again["body"]))
    assert fake_platform.sent[-1][2].status == "triggered"
    assert fake_platform.updated[-1][1].status == "acknowledged"


def test_taking_a_delivery_reads_and_leases_it_in_one_write(aws_env, monkeypatch):
    deliveries.ensure({"incident_id": "inc-1", "target_key": "k", "state": "pending"})
    with counted(monkeypatch) as calls:
        record, leased = deliveries.take("inc-1", "k", 60)
        again, held = deliveries.take("inc-1", "k", 60)
        none, _ = deliveries.take("inc-1", "missing", 60)
    assert (record["state"], leased, held, none) == ("pending", True, False, None)
    assert again["lease_until"] == record["lease_until"]  # another worker's lease, as stored
    assert calls == {"UpdateItem deliveries": 3}


def test_a_token_is_kept_in_memory_until_its_margin_and_forgotten_when_refused(aws_env, monkeypatch):
    from chalicelib.platforms import tokens

    fetched = []

    def fetch():
        fetched.append(1)
        return f"tok-{len(fetched)}", 3600
    first = tokens.get("int_t#app", fetch, 300)
    with counted(monkeypatch) as calls:
        assert tokens.get("int_t#app", fetch, 300) == first
    assert dynamo_total(calls) == 0
    tokens.invalidate("int_t#app", first)
    assert tokens.get("int_t#app", fetch, 300) == "tok-2" and ephemeral.get("token#int_t#app")


def test_a_click_finds_its_member_in_this_containers_copy_until_a_binding_changes(aws_env, monkeypatch):
    member()
    people.bind("alice", "int_x", "u-alice", "Alice", clock.iso())
    assert people.member_of_user("int_x", "u-alice")["id"] == "alice"
    with counted(monkeypatch) as calls:
        assert people.member_of_user("int_x", "u-alice")["id"] == "alice"
    assert dynamo_total(calls) == 0
    people.unbind("alice", "int_x")
    assert people.member_of_user("int_x", "u-alice") is None


def test_a_targeted_members_involvement_goes_in_with_their_first_record(fake_platform, monkeypatch):
    from chalicelib.store import involvements

    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    with counted(monkeypatch) as calls:
        worker.handle_notification(json.dumps(notification()))
    assert calls["TransactWriteItems"] == 1 and calls["UpdateItem involvements"] == 0
    assert [i["incident_id"] for i in involvements.of("alice")] == ["inc-1"]
    with counted(monkeypatch) as calls:
        worker.handle_notification(json.dumps(notification(title="again")))  # its record exists: refused
    assert calls["TransactWriteItems"] == 1 and calls["UpdateItem involvements"] == 0
    assert [i["incident_id"] for i in involvements.of("alice")] == ["inc-1"]
    member("bob", "Bob", "13800000002")  # bound nowhere, no integration reaches people but the fake one
    worker.handle_notification(json.dumps(notification("inc-2", members=("bob",))))
    assert [i["incident_id"] for i in involvements.of("bob")] == ["inc-2"]  # noted with the unbound record
