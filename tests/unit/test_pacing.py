"""The shared pacing scheduler: never over a window, deferral to the reopening, no attempt spent."""
from __future__ import annotations

import json
import threading

import pytest

from chalicelib import clock, dispatch, pacing, worker
from chalicelib.platforms.dingtalk import DingTalk
from chalicelib.platforms.feishu import Feishu
from chalicelib.platforms.wecom import WeCom
from chalicelib.store import deliveries, people
from tests.conftest import drain
from tests.factories import member, notification


@pytest.fixture
def frozen(monkeypatch):
    """A clock that moves only when told to."""
    now = [1_800_000_000.25]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    return now


def test_a_window_admits_exactly_its_limit_and_names_the_reopening(aws_env, frozen):
    window = pacing.Window("app#api", 3, 1)
    assert [pacing.acquire([window]) for _ in range(3)] == [None, None, None]
    assert pacing.acquire([window]) == pytest.approx(0.75)
    frozen[0] += 0.75
    assert pacing.acquire([window]) is None


def test_concurrent_workers_never_overshoot(aws_env, frozen, atomic_conditions):
    window, admitted = pacing.Window("member#zhang", 30, 60), []

    def worker_thread():
        for _ in range(10):
            if pacing.acquire([window]) is None:
                admitted.append(1)

    threads = [threading.Thread(target=worker_thread) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 30


def test_windows_of_different_lengths_keep_separate_counts(aws_env, frozen):
    frozen[0] = 1_800_000_000.0  # a minute boundary is also a second boundary
    per_second, per_minute = pacing.Window("k", 2, 1), pacing.Window("k", 3, 60)
    assert pacing.acquire([per_second, per_minute]) is None
    assert pacing.acquire([per_second, per_minute]) is None
    assert pacing.acquire([per_second, per_minute]) is not None  # the per-second window is full


def test_platforms_declare_their_published_limits():
    ding = DingTalk("i", DingTalk.Credentials(corp_id="c", agent_id="1", client_id="k", client_secret="s",
                                              aes_key="a" * 43, token="t"), DingTalk.Settings(edition="professional"))
    assert [(w.limit, w.seconds) for w in ding.windows("send", "user", "u")] == [(40, 1)]
    feishu = Feishu("i", Feishu.Credentials(app_id="a", app_secret="s", verification_token="v"), Feishu.Settings())
    assert (5, 1) in [(w.limit, w.seconds) for w in feishu.windows("send", "chat", "oc_1")]
    wecom = WeCom("i", WeCom.Credentials(corp_id="c"), WeCom.Settings())
    assert [(w.limit, w.seconds) for w in wecom.windows("send", "user", "zhang")] == [(30, 60), (1000, 3600)]


def test_a_full_window_defers_the_card_without_spending_an_attempt(fake_platform, monkeypatch):
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    monkeypatch.setattr(fake_platform, "windows", lambda self, *a, **k: [pacing.Window("full", 1, 60)], raising=False)
    pacing.acquire([pacing.Window("full", 1, 60)])  # someone else used the only slot
    worker.handle_notification(json.dumps(notification()))
    requeued = []
    monkeypatch.setattr(dispatch, "enqueue", lambda jobs, delay=0: requeued.extend((j.attempt, delay) for j in jobs))
    for job in drain("deliveries"):
        worker.handle_delivery(json.dumps(job["body"]))
    (attempt, delay), = requeued
    assert attempt == 0 and 1 <= delay <= 60
    record = deliveries.of("inc-1")[0]
    assert record["state"] == "deferred" and record["error"].startswith("paced")
    assert fake_platform.sent == []


def test_a_spent_monthly_budget_parks_cards_until_the_month_turns(fake_platform, monkeypatch):
    from chalicelib import delivery, quota
    from chalicelib.errors import QuotaExhausted
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    monkeypatch.setitem(quota.EDITIONS, "fake", {"standard": (None, 2)})
    quota.count("int_fake", "x")
    quota.count("int_fake", "x")  # the month's two calls are used
    worker.handle_notification(json.dumps(notification()))
    for job in drain("deliveries"):
        worker.handle_delivery(json.dumps(job["body"]))
    record = deliveries.of("inc-1")[0]
    assert record["state"] == "parked" and "budget" in record["error"] and fake_platform.sent == []
    assert quota.usage({"id": "int_fake", "platform": "fake", "settings": {}})["parked"] == 1

    monkeypatch.setitem(quota.EDITIONS, "fake", {"standard": (None, None)})  # the month turned
    assert delivery.release_parked() == 1
    for job in drain("deliveries"):
        worker.handle_delivery(json.dumps(job["body"]))
    assert deliveries.of("inc-1")[0]["state"] == "sent" and len(fake_platform.sent) == 1

    fake_platform.fail_with = [QuotaExhausted("fake", "90020", "org quota spent")]
    worker.handle_notification(json.dumps(notification("inc-2")))
    for job in drain("deliveries"):
        worker.handle_delivery(json.dumps(job["body"]))
    assert deliveries.of("inc-2")[0]["state"] == "parked"


def test_critical_incidents_keep_a_reserved_share_of_every_window(aws_env, frozen):
    window = pacing.Window("receiver#oc_1", 10, 60)
    warnings = [pacing.acquire([window], critical=False) for _ in range(10)]
    assert warnings.count(None) == 8  # warnings stop at 80 % of the window
    criticals = [pacing.acquire([window], critical=True) for _ in range(3)]
    assert criticals.count(None) == 2  # critical incidents still get the reserved 20 %
