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


def test_rules_route_on_the_common_labels_else_the_source_targets(client, admin_headers, fake_platform):
    from chalicelib.store import chats
    for chat_id in ("oc-infra", "oc-db"):
        chats.upsert("int_fake", chat_id, title=chat_id, active=True)
    answer = client.http.post("/sources", headers=admin_headers, body=json.dumps(
        {"kind": "alertmanager", "name": "routed",
         "targets": {"chats": [{"integration_id": "int_fake", "chat_id": "oc-db"}]},
         "rules": [{"match": {"cluster": "~prod-.*", "alertname": "NodeHighCPU"},
                    "targets": {"chats": [{"integration_id": "int_fake", "chat_id": "oc-infra"}]}},
                   {"match": {"cluster": "staging"}, "targets": {"members": ["nobody"]}}]}))
    source = json.loads(answer.body)
    push(client, source, fixture("alertmanager/seq1_firing.json"))  # cluster=prod-sh, alertname=NodeHighCPU
    push(client, source, fixture("alertmanager/offset_utf8.json"))  # no rule holds
    assert sorted(j["target"] for j in work()) == ["oc-db", "oc-infra"]


def test_a_bad_rule_regex_is_400_naming_it(client, admin_headers, fake_platform):
    answer = client.http.post("/sources", headers=admin_headers, body=json.dumps(
        {"kind": "alertmanager", "name": "x", "rules": [{"match": {"job": "~(unclosed"}, "targets": {}}]}))
    assert answer.status_code == 400 and "match.job" in json.loads(answer.body)["message"]


def test_secrets_are_masked_and_never_follow_a_moved_url(client, admin_headers, fake_platform):
    answer = client.http.post("/sources", headers=admin_headers, body=json.dumps(
        {"kind": "alertmanager", "name": "am", "settings": {
            "alertmanager_url": "http://am.internal:9093", "alertmanager_auth": {"bearer": "am-secret-token-1"}}}))
    created = json.loads(answer.body)
    assert created["settings"]["alertmanager_auth"] == "****" and "am-secret" not in answer.body.decode()
    moved = client.http.patch(f"/sources/{created['id']}", headers=admin_headers, body=json.dumps(
        {"settings": {"alertmanager_url": "http://elsewhere.example:9093"}}))
    assert moved.status_code == 400 and "alertmanager_auth" in json.loads(moved.body)["message"]
    again = client.http.patch(f"/sources/{created['id']}", headers=admin_headers, body=json.dumps(
        {"settings": {"alertmanager_url": "http://elsewhere.example:9093",
                      "alertmanager_auth": {"basic": ["am", "am-password-2"]}}}))
    assert again.status_code == 200 and json.loads(again.body)["settings"]["alertmanager_auth"] == "****"
    renamed = client.http.patch(f"/sources/{created['id']}", headers=admin_headers, body=json.dumps({"name": "am2"}))
    assert renamed.status_code == 200  # the secret stays with its unchanged URL
    from chalicelib.flows import silences
    from chalicelib.store import sources as source_store
    stored = source_store.get(created["id"])
    assert "am-password-2" not in json.dumps(stored)
    api = silences.api_of({"source": {"id": created["id"]}})
    assert api.base_url == "http://elsewhere.example:9093/" and api.headers["Authorization"].startswith("Basic ")


def test_rotating_the_key_shows_the_new_push_url_once_and_retires_the_old_key(client, admin_headers, source):
    rotated = json.loads(client.http.patch(f"/sources/{source['id']}", headers=admin_headers,
                                           body=json.dumps({"rotate_key": True})).body)
    assert rotated["push_url"] != source["push_url"] and "*" not in rotated["push_url"]
    assert push(client, source, fixture("alertmanager/seq1_firing.json")).status_code == 401
    assert push(client, rotated, fixture("alertmanager/seq1_firing.json")).status_code == 202


def test_grafana_pushes_keep_values_links_and_the_picture(client, admin_headers, source, fake_platform):
    answer = client.http.post("/sources", headers=admin_headers, body=json.dumps(
        {"kind": "grafana", "name": "grafana", "targets": {"members": ["alice"]}}))
    grafana = json.loads(answer.body)
    assert push(client, grafana, fixture("grafana/firing.json")).status_code == 202
    work()
    [incident] = [i for i in incidents.store.many([f"{grafana['id']}.{g}.1" for g in _grafana_groups()])]
    assert incident["image_url"].endswith(".png") and incident["links"]["dashboard"].startswith("https://grafana")
    assert "to=" not in incident["links"]["dashboard"]  # Grafana moves it on every push: kept out
    assert incident["alerts"][0]["values"] == {"A": 7.31, "C": 1} or incident["alerts"][1]["values"]
    assert incident["severity"] == "critical" and incident["links"]["silence"].startswith("https://grafana")
    assert push(client, grafana, fixture("grafana/firing.json")).status_code == 202
    assert work() == []  # a repeat
    push(client, grafana, fixture("grafana/resolved.json"))
    work()
    assert incidents.get(incident["id"])["status"] == "resolved"


def test_an_alertmanager_body_sent_to_a_grafana_source_is_400_naming_version(client, admin_headers, fake_platform):
    grafana = json.loads(client.http.post("/sources", headers=admin_headers, body=json.dumps(
        {"kind": "grafana", "name": "g"})).body)
    answer = push(client, grafana, fixture("alertmanager/seq1_firing.json"))
    assert answer.status_code == 400 and "version" in json.loads(answer.body)["message"]


def _grafana_groups() -> set[str]:
    from chalicelib.sources import kind
    return {kind("grafana").parse(fixture(f"grafana/{n}.json")).group_id for n in ("firing", "resolved")}


def test_a_webhook_source_takes_dutybridge_notifications_and_fills_the_targets(client, admin_headers, source):
    hook = json.loads(client.http.post("/sources", headers=admin_headers, body=json.dumps(
        {"kind": "webhook", "name": "ci", "targets": {"members": ["alice"]}})).body)
    body = {"version": 1, "incident": {"id": "deploy-42", "title": "发布失败 deploy failed", "severity": "warning"}}
    assert push(client, hook, json.dumps(body).encode()).status_code == 202
    assert [j["target"] for j in work()] == ["u-alice"]
    bad = push(client, hook, json.dumps({"version": 1, "incident": {"id": "x"}}).encode())
    assert bad.status_code == 400 and "incident.title" in json.loads(bad.body)["message"]


def test_a_deleted_source_refuses_pushes_and_its_queued_push_is_parked(client, admin_headers, source):
    assert push(client, source, fixture("alertmanager/seq1_firing.json")).status_code == 202
    assert [s["id"] for s in json.loads(client.http.get("/sources", headers=admin_headers).body)] == [source["id"]]
    assert client.http.delete(f"/sources/{source['id']}", headers=admin_headers).status_code == 204
    assert push(client, source, fixture("alertmanager/seq1_firing.json")).status_code == 404
    assert work() == []
    [parked] = drain("notifications-dlq")
    assert "was deleted" in parked["attributes"]["error"]["StringValue"]


def test_the_same_push_applied_twice_at_once_opens_one_incident_with_one_card(client, source, atomic_conditions):
    import threading

    from chalicelib.flows import sources as source_flow
    from chalicelib.sources import kind
    group = kind("alertmanager").parse(fixture("alertmanager/seq1_firing.json"))
    message = source_flow.QueuedPush(source_id=source["id"], received_at=clock.now(), group=group)
    results: list = []
    workers = [threading.Thread(target=lambda: results.append(source_flow.apply_push(message))) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    jobs = [job for accepted in results if accepted for job in accepted.deliveries]
    assert len(jobs) == 1 and only_incident(source)["version"] == 1
