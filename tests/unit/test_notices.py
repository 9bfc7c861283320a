"""Running low on the monthly budget: digests per receiver, one warning to the admins, parking."""
from __future__ import annotations

import json

import pytest

from chalicelib.common import clock, queues
from chalicelib.delivery import pipeline as delivery
from chalicelib.delivery import quota
from chalicelib.flows import consumers as worker
from chalicelib.store import deliveries, ledger, people
from chalicelib.store import integrations as integration_store
from tests.conftest import drain
from tests.factories import member, notification


@pytest.fixture
def delays(monkeypatch):
    """Every enqueue's delay, by job id; the jobs themselves are queued at once."""
    seen, original = {}, queues.deliver
    monkeypatch.setattr(queues, "deliver", lambda jobs, delay=0: (
        seen.update({job.incident_id: delay for job in jobs}), original(jobs))[1])
    return seen


@pytest.fixture
def low_budget(fake_platform, monkeypatch, delays):
    """A fake platform with 10 calls a month, 9 of them used: the budget is running low."""
    monkeypatch.setattr(fake_platform, "editions", {"standard": (None, 10)})
    for _ in range(9):
        ledger.count("int_fake", "x")
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    return fake_platform


def _run_deliveries() -> list[dict]:
    """Hand every waiting delivery job to the worker; returns the jobs it was given."""
    jobs = drain("deliveries")
    for job in jobs:
        worker.handle_delivery(json.dumps(job["body"]))
    return [job["body"] for job in jobs]


def _notify(*incident_ids: str, severity: str = "warning") -> None:
    for incident_id in incident_ids:
        body = notification(incident_id, severity=severity, title=f"磁盘 {incident_id}")
        worker.handle_notification(json.dumps(body))


def test_running_low_folds_warnings_into_one_digest_per_receiver(low_budget, delays):
    _notify("inc-1", "inc-2", "inc-3")
    _run_deliveries()
    assert low_budget.sent == []
    assert {r["state"] for i in ("inc-1", "inc-2", "inc-3") for r in deliveries.of(i)} == {"digested"}
    digest_jobs = [job for job in drain("deliveries")]
    assert len(digest_jobs) == 1 and digest_jobs[0]["body"]["notice"] == "digest"
    assert 0 < delays[digest_jobs[0]["body"]["incident_id"]] <= 600  # at the end of the 10-minute interval

    for _ in range(2):  # a redelivered digest job sends nothing twice
        worker.handle_delivery(json.dumps(digest_jobs[0]["body"]))
    (kind, target, card, _), = low_budget.sent
    assert (kind, target) == ("user", "u-alice") and card.title.startswith("告警摘要 3 条")
    assert [title for _, title in card.facts] == ["磁盘 inc-1", "磁盘 inc-2", "磁盘 inc-3"]
    assert card.buttons == [] and card.url.endswith("/app/int_fake")


def test_critical_incidents_still_get_their_own_card_when_running_low(low_budget):
    _notify("inc-9", severity="critical")
    _run_deliveries()
    assert [card.incident_id for _, _, card, _ in low_budget.sent] == ["inc-9"]
    assert deliveries.of("inc-9")[0]["state"] == "sent"


def test_the_admins_are_warned_once_a_month(low_budget):
    item = integration_store.get("int_fake")
    integration_store.replace({**item, "settings": {"quota_admins": ["alice", "ghost"]}})
    _notify("inc-1", "inc-2", severity="critical")
    jobs = _run_deliveries()
    warnings = [job for job in drain("deliveries") if job["body"].get("notice") == "quota_low"]
    assert len(warnings) == 1 and warnings[0]["body"]["target"] == "u-alice"
    assert not any(job.get("notice") for job in jobs)
    worker.handle_delivery(json.dumps(warnings[0]["body"]))
    card = low_budget.sent[-1][2]
    assert card.title == "本月调用量已用 90% (Monthly API budget 90% used)"
    assert dict(card.facts)["已用 Used"] == "9 / 10"


def test_a_spent_budget_parks_the_digest_and_the_month_turn_sends_each_card(low_budget, monkeypatch):
    _notify("inc-1", "inc-2")
    _run_deliveries()
    ledger.count("int_fake", "x")  # the tenth call: the budget is spent before the digest goes
    digest, = drain("deliveries")
    worker.handle_delivery(json.dumps(digest["body"]))
    assert low_budget.sent == []
    assert {deliveries.of(i)[0]["state"] for i in ("inc-1", "inc-2")} == {"parked"}
    assert quota.usage({"id": "int_fake", "platform": "fake", "settings": {}})["parked"] == 2

    monkeypatch.setattr(low_budget, "editions", {"standard": (None, None)})  # a new month, a fresh budget
    assert delivery.release_parked() == 2
    _run_deliveries()
    assert sorted(card.incident_id for _, _, card, _ in low_budget.sent) == ["inc-1", "inc-2"]


def test_the_quota_view_counts_digested_cards(low_budget):
    _notify("inc-1")
    _run_deliveries()
    view = quota.usage({"id": "int_fake", "platform": "fake", "settings": {}})
    assert (view["digested"], view["low_at"], view["remaining"]) == (1, 0.9, 1)


def test_on_wecom_a_digest_is_a_notice_card_without_buttons(low_budget):
    from chalicelib.platforms.wecom.cards import render
    from devkit.simulators.wecom.cards import check_card
    _notify("inc-1")
    _run_deliveries()
    digest, = drain("deliveries")
    worker.handle_delivery(json.dumps(digest["body"]))
    template = check_card(render(low_budget.sent[0][2], "db1"))
    assert template["card_type"] == "text_notice" and "button_list" not in template
    assert template["card_action"]["url"].endswith("/app/int_fake")
