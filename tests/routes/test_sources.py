"""Sources through the real routes: the admin API, the push route, and what the queued push becomes.

Bodies are Alertmanager 0.25.0's own, captured byte for byte (tests/fixtures/sources/README.md).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.common import clock
from chalicelib.core import incidents
from chalicelib.flows import consumers
from chalicelib.store import people
from tests.conftest import drain
from tests.factories import member

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def source(client, admin_headers, fake_platform) -> dict:
    member("alice")
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    answer = client.http.post("/sources", headers=admin_headers, body=json.dumps(
        {"kind": "alertmanager", "name": "prod", "targets": {"members": ["alice"]}}))
    assert answer.status_code == 201, answer.body
    return json.loads(answer.body)


def push(client, source: dict, body: bytes, key: str | None = None, **headers: str):
    path = source["push_url"].split("://", 1)[1].split("/", 1)[1]
    if key is not None:
        path = path.split("?")[0] + (f"?key={key}" if key else "")
    return client.http.post("/" + path, body=body, headers={"Content-Type": "application/json", **headers})


def work() -> list[dict]:
    """Run the notifications worker over what the push route queued; returns the delivery jobs queued."""
    for message in drain("notifications"):
        body = message["body"]
        consumers.handle_notification(body if isinstance(body, str) else json.dumps(body))
    return [m["body"] for m in drain("deliveries")]


def only_incident(source: dict) -> dict:
    found = [i for i in incidents.store.many([f"{source['id']}.{g}.{n}" for g in _groups() for n in (1, 2, 3)])]
    assert len(found) == 1, [i["id"] for i in found]
    return found[0]


def _groups() -> set[str]:
    from chalicelib.sources import kind
    return {kind("alertmanager").parse(fixture(f"alertmanager/{n}.json")).group_id
            for n in ("seq1_firing", "large_50")}


def test_the_push_url_is_shown_once_and_masked_after(client, admin_headers, source):
    assert "?key=" in source["push_url"] and "*" not in source["push_url"]
    shown = json.loads(client.http.get(f"/sources/{source['id']}", headers=admin_headers).body)
    assert shown["push_url"].split("?key=")[1].startswith("****")
    assert shown["push_url"].split("?key=")[1][-4:] == source["push_url"][-4:]


def test_a_group_becomes_one_incident_that_follows_its_alerts(client, source):
    assert push(client, source, fixture("alertmanager/seq1_firing.json")).status_code == 202
    jobs = work()
    incident = only_incident(source)
    assert [j["target"] for j in jobs] == ["u-alice"]
    assert incident["status"] == "triggered" and incident["alert_group"]["firing"] == 2
    assert incident["title"] == "CPU usage above 90% on prod-sh"  # commonAnnotations.summary
    push(client, source, fixture("alertmanager/seq2_one_resolved.json"))
    work()
    incident = only_incident(source)
    assert (incident["alert_group"]["firing"], incident["alert_group"]["resolved"]) == (1, 1)
    push(client, source, fixture("alertmanager/seq4_all_resolved.json"))
    work()
    assert only_incident(source)["status"] == "resolved"


def test_a_repeat_changes_nothing(client, source):
    push(client, source, fixture("alertmanager/seq1_firing.json"))
    work()
    before = only_incident(source)
    for _ in range(3):
        assert push(client, source, fixture("alertmanager/seq1_firing.json")).status_code == 202
    assert work() == []
    assert only_incident(source)["version"] == before["version"]


def test_a_closed_group_firing_again_opens_a_linked_incident(client, source):
    push(client, source, fixture("alertmanager/seq1_firing.json"))
    work()
    first = only_incident(source)
    incidents.act(first["id"], incidents.Action.resolve, {"id": "alice", "name": "Alice"}, "api")
    push(client, source, fixture("alertmanager/seq1_firing.json"))  # a repeat of what was closed
    assert work() == []
    push(client, source, fixture("alertmanager/seq5_refire.json"))  # the same alert, firing anew
    work()
    second = incidents.get(first["id"].rsplit(".", 1)[0] + ".2")
    assert second["previous_incident_id"] == first["id"] and second["status"] == "triggered"
    assert incidents.get(first["id"])["status"] == "resolved"


@pytest.mark.parametrize(("key", "status"), [("", 401), ("wrong", 401)])
def test_a_wrong_or_missing_key_is_refused_and_nothing_is_queued(client, source, key, status):
    assert push(client, source, fixture("alertmanager/seq1_firing.json"), key=key).status_code == status
    assert drain("notifications") == []


def test_the_key_may_come_as_a_bearer_token(client, source):
    key = source["push_url"].split("?key=")[1]
    answer = push(client, source, fixture("alertmanager/seq1_firing.json"), key="", Authorization=f"Bearer {key}")
    assert answer.status_code == 202


def test_an_unknown_source_is_404(client, source):
    answer = client.http.post("/push/src_nope?key=x", body=b"{}", headers={"Content-Type": "application/json"})
    assert answer.status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    (b"not json", "not valid JSON"),
    (json.dumps({"version": "4", "status": "firing", "groupKey": "k", "alerts": []}).encode(), "alerts"),
    (json.dumps({"version": "3", "status": "firing", "groupKey": "k", "alerts": [
        {"status": "firing", "labels": {}, "startsAt": "2026-01-01T00:00:00Z", "fingerprint": "f"}]}).encode(),
     "version"),
    (json.dumps({"version": "4", "status": "firing", "groupKey": "k", "alerts": [
        {"status": "firing", "labels": {}, "startsAt": "yesterday", "fingerprint": "f"}]}).encode(), "startsAt"),
    (b"[" * 10_000, "nests deeper"),
])
def test_a_body_not_in_the_kind_format_is_400_naming_the_field(client, source, body, field):
    answer = push(client, source, body)
    assert answer.status_code == 400 and field in json.loads(answer.body)["message"]
    assert drain("notifications") == []


def test_an_oversized_push_is_413(client, source):
    answer = push(client, source, b" " * (5 * 1024 * 1024 + 1))
    assert answer.status_code == 413


def test_a_thousand_alerts_travel_compressed_and_make_one_incident(client, source):
    body = json.loads(fixture("alertmanager/large_50.json"))
    template = body["alerts"][0]
    body["alerts"] = [{**template, "labels": {**template["labels"], "instance": f"node-{n}:9100"},
                       "fingerprint": f"{n:016x}"} for n in range(1000)]
    assert push(client, source, json.dumps(body).encode()).status_code == 202
    work()
    incident = only_incident(source)
    assert incident["alert_group"]["firing"] == 1000 and len(incident["alerts"]) == 100
