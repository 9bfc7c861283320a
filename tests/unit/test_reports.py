"""Reports (seed 001, DataWind): through the queue, the admin API and a webhook source, delivered by the incident
machinery as notice cards; updated in place, paced and budgeted like incident cards, never acted on."""
from __future__ import annotations

import json

import pytest

from chalicelib.common import clock, queues
from chalicelib.common.errors import Conflict
from chalicelib.core import cards, incidents, reports
from chalicelib.core.models import Action
from chalicelib.delivery import pacing
from chalicelib.delivery import pipeline as delivery
from chalicelib.flows import actions, warroom
from chalicelib.flows import consumers as worker
from chalicelib.platforms.base import Window
from chalicelib.store import deliveries, ledger, people
from tests.conftest import drain
from tests.factories import member, notification
from tests.unit.test_delivery_flow import _run_deliveries as run_deliveries


def report_body(report_id: str = "sales-daily", members=("alice",), chats=(), **report) -> dict:
    return {"version": 1,
            "report": {"id": report_id, "kind": "dashboard", "title": "销售日报 Sales daily",
                       "text": "昨日销售额 ¥1,234,567，环比 +3%", "status": None,
                       "image_url": "https://datawind.example.com/shot/sales.png",
                       "url": "https://datawind.example.com/dashboard/42", **report},
            "targets": {"members": list(members), "chats": list(chats)}}


@pytest.fixture
def alice(fake_platform):
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    return fake_platform


def test_a_report_becomes_a_notice_card_under_its_own_id(alice):
    worker.handle_notification(json.dumps(report_body()))
    run_deliveries()
    (kind, target, card, _), = alice.sent
    assert (kind, target, card.incident_id) == ("user", "u-alice", "report.sales-daily")
    assert card.notice and card.buttons == [] and card.silence_menu == [] and not card.war_room
    assert (card.title, card.description) == ("销售日报 Sales daily", "昨日销售额 ¥1,234,567，环比 +3%")
    assert (card.severity, card.status_zh, card.status_en) == ("info", "通知", "Notice")
    assert card.facts == [("类型 Kind", "仪表盘订阅 Dashboard")]
    assert card.url == "https://datawind.example.com/dashboard/42"
    assert card.image_url == "https://datawind.example.com/shot/sales.png"
    assert deliveries.of("report.sales-daily")[0]["state"] == "sent"


@pytest.mark.parametrize("kind, status, severity, words, kind_words", [
    ("dataset_sync", "failed", "warning", ("失败", "Failed"), "数据集同步 Dataset sync"),
    ("dataset_sync", "success", "info", ("成功", "Success"), "数据集同步 Dataset sync"),
    ("chart_alarm", None, "info", ("通知", "Notice"), "图表监控报警 Chart alarm"),
])
def test_each_kind_and_outcome_has_its_words_and_colour(aws_env, kind, status, severity, words, kind_words):
    record, _ = reports.ingest(worker.Notification.model_validate(
        report_body(kind=kind, status=status, url=None)).report)
    card = cards.build(record, "int_x")
    assert (card.severity, (card.status_zh, card.status_en), card.facts[0][1]) == (severity, words, kind_words)
    assert card.url == "https://duty.example.com/app/int_x/incidents/report.sales-daily"  # no link: its page


def test_the_same_report_again_updates_its_card_and_an_unchanged_one_sends_nothing(alice):
    worker.handle_notification(json.dumps(report_body(kind="dataset_sync", status="success")))
    run_deliveries()
    worker.handle_notification(json.dumps(report_body(kind="dataset_sync", status="success")))
    assert run_deliveries() == 0
    worker.handle_notification(json.dumps(report_body(kind="dataset_sync", status="failed", text="同步失败：超时")))
    run_deliveries()
    assert len(alice.sent) == 1 and len(alice.updated) == 1
    card = alice.updated[0][1]
    assert (card.severity, card.status_en, card.description) == ("warning", "Failed", "同步失败：超时")
    record = incidents.get("report.sales-daily")
    assert [e["action"] for e in record["timeline"]] == ["reported", "updated"]


def test_a_report_never_clashes_with_an_incident_of_the_same_id(alice):
    worker.handle_notification(json.dumps(notification("sales-daily", severity="warning")))
    worker.handle_notification(json.dumps(report_body()))
    run_deliveries()
    assert sorted(card.incident_id for _, _, card, _ in alice.sent) == ["report.sales-daily", "sales-daily"]
    assert incidents.get("sales-daily")["title"] == "CPU > 95% on db-1"


def test_a_spent_budget_parks_a_report_until_the_month_turns(alice, monkeypatch):
    monkeypatch.setattr(alice, "editions", {"standard": (None, 10)})
    for _ in range(10):
        ledger.count("int_fake", "x")
    worker.handle_notification(json.dumps(report_body()))
    run_deliveries()
    assert alice.sent == [] and deliveries.of("report.sales-daily")[0]["state"] == "parked"
    monkeypatch.setattr(alice, "editions", {"standard": (None, None)})
    assert delivery.release_parked() == 1
    run_deliveries()
    assert [card.incident_id for _, _, card, _ in alice.sent] == ["report.sales-daily"]


def test_running_low_folds_a_report_into_the_digest_with_its_outcome(alice, monkeypatch):
    undelayed = queues.deliver
    monkeypatch.setattr(queues, "deliver", lambda jobs, delay=0: undelayed(jobs))  # the digest: not at its hour
    monkeypatch.setattr(alice, "editions", {"standard": (None, 10)})
    for _ in range(9):
        ledger.count("int_fake", "x")
    worker.handle_notification(json.dumps(report_body(kind="dataset_sync", status="failed")))
    run_deliveries()  # the report's job, then the digest's (moto does not hold it back to the interval's end)
    assert deliveries.of("report.sales-daily")[0]["state"] == "digested"
    (_, _, digest, _), = alice.sent
    assert digest.facts == [("[警告] 失败", "销售日报 Sales daily")]


def test_a_full_window_defers_a_report_to_its_reserved_slot_like_an_incident_card(alice, monkeypatch):
    monkeypatch.setattr(alice, "windows", lambda self, *a, **k: [Window("full", 1, 60)], raising=False)
    pacing.reserve([Window("full", 1, 60)])  # someone else used the only slot
    worker.handle_notification(json.dumps(report_body()))
    requeued = []
    monkeypatch.setattr(queues, "deliver", lambda jobs, delay=0: requeued.extend((j, delay) for j in jobs))
    for job in drain("deliveries"):
        worker.handle_delivery(json.dumps(job["body"]))
    (job, delay), = requeued
    assert job.incident_id == "report.sales-daily" and job.slot_at and 55 <= delay <= 62
    assert deliveries.of("report.sales-daily")[0]["state"] == "deferred" and alice.sent == []


@pytest.mark.parametrize("action", list(Action))
def test_every_action_on_a_report_is_refused(alice, action):
    worker.handle_notification(json.dumps(report_body()))
    with pytest.raises(Conflict) as refused:
        actions.take_as("report.sales-daily", action, "alice", "api", 120 if action is Action.silence else None)
    assert refused.value.message == incidents.NOT_ACTED_ON
    with pytest.raises(Conflict):
        warroom.find_or_open("report.sales-daily", "int_fake", None, "api")
    assert [e["action"] for e in incidents.get("report.sales-daily")["timeline"]] == ["reported"]


def test_the_admin_api_takes_a_report_and_shows_where_it_went(client, admin_headers, alice):
    answer = client.http.post("/incidents", headers=admin_headers, body=json.dumps(report_body()))
    assert answer.status_code == 202 and json.loads(answer.body)["id"] == "report.sales-daily"
    run_deliveries()
    view = json.loads(client.http.get("/incidents/report.sales-daily", headers=admin_headers).body)
    assert (view["kind"], view["report"]) == ("report", {"id": "sales-daily", "kind": "dashboard"})
    assert view["image_url"] == "https://datawind.example.com/shot/sales.png"
    assert [d["state"] for d in view["deliveries"]] == ["sent"]
    for action in ({"action": "ack", "by": "alice"}, {"action": "silence", "minutes": 60, "by": "alice"}):
        refused = client.http.post("/incidents/report.sales-daily/actions", headers=admin_headers,
                                   body=json.dumps(action))
        assert refused.status_code == 409 and "report" in json.loads(refused.body)["message"]
    room = client.http.post("/incidents/report.sales-daily/war-room", headers=admin_headers,
                            body=json.dumps({"integration_id": "int_fake"}))
    assert room.status_code == 409


BAD = [
    ({"version": 1}, "exactly one of incident or report"),
    ({**report_body(), "incident": notification()["incident"]}, "exactly one of incident or report"),
    (report_body(kind="pdf"), "report.kind"),
    (report_body(status="partial"), "report.status"),
    (report_body(title=""), "report.title"),
    (report_body(url="javascript:alert(1)"), "report.url"),
    (report_body(image_url="file:///etc/passwd"), "report.image_url"),
    (report_body(url="https://x.example.com/a b"), "report.url"),
    (report_body(report_id="a/b"), "report.id"),
    (report_body(report_id="r" * 122), "report.id"),
    (report_body(text="长" * 8001), "report.text"),
    (report_body(extra=1), "report.extra"),
    (notification("report.sales-daily"), "incident.id"),
]


@pytest.mark.parametrize("body, problem", BAD)
def test_a_bad_report_is_400_naming_the_field_and_nothing_is_queued(client, admin_headers, alice, body, problem):
    answer = client.http.post("/incidents", headers=admin_headers, body=json.dumps(body))
    assert answer.status_code == 400 and problem in json.loads(answer.body)["message"], answer.body
    assert drain("deliveries") == [] and drain("notifications") == []


def test_a_bad_report_on_the_queue_is_parked_with_its_error(aws_env):
    worker.handle_notification(json.dumps(report_body(kind="pdf")))
    parked, = drain("notifications-dlq")
    assert "report.kind" in parked["attributes"]["error"]["StringValue"]
    assert drain("deliveries") == []


def test_a_source_may_not_take_an_id_its_incidents_would_share_with_reports(client, admin_headers, alice):
    for source_id in ("report", "report.x"):
        answer = client.http.post("/sources", headers=admin_headers, body=json.dumps(
            {"id": source_id, "kind": "webhook", "name": "ci"}))
        assert answer.status_code == 400 and "report." in json.loads(answer.body)["message"]


def test_a_webhook_source_takes_a_report_for_its_own_targets(client, admin_headers, alice):
    from tests.routes.test_sources import push
    hook = json.loads(client.http.post("/sources", headers=admin_headers, body=json.dumps(
        {"kind": "webhook", "name": "datawind", "targets": {"members": ["alice"]}})).body)
    answer = push(client, hook, json.dumps(report_body(members=(), kind="chart_alarm")).encode())
    assert answer.status_code == 202, answer.body
    assert json.loads(answer.body) == {"accepted": True, "incident_id": "report.sales-daily"}
    for message in drain("notifications"):
        worker.handle_notification(json.dumps(message["body"]))
    run_deliveries()
    (_, target, card, _), = alice.sent
    assert (target, card.facts) == ("u-alice", [("类型 Kind", "图表监控报警 Chart alarm")])
    bad = push(client, hook, json.dumps(report_body(image_url="ftp://x.example.com/a.png")).encode())
    assert bad.status_code == 400 and "report.image_url" in json.loads(bad.body)["message"]
    assert drain("notifications") == []


def test_the_readme_examples_are_valid_reports():
    import re
    from pathlib import Path

    from chalicelib.core.models import Notification
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Reports (seed 001")[1].split("\n## ")[0]
    example = re.search(r"```json\n(.*?)```", section, re.S).group(1).replace("int_…", "int_x")
    scheduled = json.loads(re.search(r"--target '(.*?)'\n", section, re.S).group(1))["Input"]
    scheduled = scheduled.replace("<aws.scheduler.scheduled-time>", "2026-12-01T01:00:00Z")
    pushed = re.search(r"-d \"(.*?)\"\n", section, re.S).group(1).replace('\\"', '"')
    pushed = pushed.replace("$(date +%F)", "2026-12-01")
    for body in (example, scheduled, pushed):
        assert Notification.model_validate_json(body).report is not None
