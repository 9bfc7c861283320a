"""The shared pacing scheduler: never over a window, deferral to the reopening, no attempt spent."""
from __future__ import annotations

import json
import threading
from collections import Counter

import pytest

from chalicelib.common import aws, clock, queues
from chalicelib.delivery import pacing
from chalicelib.flows import consumers as worker
from chalicelib.platforms.base import Window
from chalicelib.platforms.dingtalk.adapter import DingTalk
from chalicelib.platforms.feishu.adapter import Feishu
from chalicelib.platforms.wecom.adapter import WeCom
from chalicelib.store import deliveries, people
from tests.conftest import drain
from tests.factories import member, notification


@pytest.fixture
def frozen(monkeypatch):
    """A clock that moves only when told to."""
    now = [1_800_000_000.25]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    return now


def test_a_full_window_reserves_the_first_slot_of_the_next_one(aws_env, frozen):
    window = Window("app#api", 3, 1)
    assert [pacing.reserve([window]) for _ in range(3)] == [None, None, None]
    assert pacing.reserve([window]) == 1_800_000_001.0
    frozen[0] += 0.5
    assert pacing.holds([window], 1_800_000_001.0) is False  # not yet: the card waits for its window
    assert [pacing.reserve([window]) for _ in range(2)] == [1_800_000_001.0] * 2  # two left beside it
    assert pacing.reserve([window]) == 1_800_000_002.0
    frozen[0] += 0.5
    assert pacing.holds([window], 1_800_000_001.0) is True
    frozen[0] += 1
    assert pacing.holds([window], 1_800_000_001.0) is False  # late: its window has passed


def test_concurrent_workers_never_overshoot_a_window_now_or_later(aws_env, frozen, atomic_conditions):
    window, slots = Window("member#zhang", 30, 60), []

    def worker_thread():
        for _ in range(10):
            slots.append(pacing.reserve([window]))

    threads = [threading.Thread(target=worker_thread) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    minute = 1_800_000_000.0 - 1_800_000_000.0 % 60
    assert Counter(slots) == {None: 30, minute + 60: 30, minute + 120: 20}


def test_a_slot_is_taken_only_where_every_window_has_room(aws_env, frozen):
    frozen[0] = 1_800_000_000.0  # a minute boundary is also a second boundary
    per_second, per_minute = Window("k", 2, 1), Window("k", 3, 60)
    assert [pacing.reserve([per_second, per_minute]) for _ in range(3)] == [None, None, 1_800_000_001.0]
    assert pacing.reserve([per_second, per_minute]) == 1_800_000_060.0  # the minute is full
    counts = {k: v for k, v in _window_counts().items() if k.startswith("rate#k#1#")}
    assert counts == {"rate#k#1#1800000000": 2, "rate#k#1#1800000001": 1, "rate#k#1#1800000060": 1}


def test_a_long_backlog_costs_a_few_writes_per_card_not_one_per_window(aws_env, frozen, monkeypatch):
    window, writes = Window("receiver#ou_1", 5, 1), []
    table = aws.table("ephemeral")
    original = table.update_item
    monkeypatch.setattr(table, "update_item", lambda **kw: writes.append(1) or original(**kw))
    slots = [pacing.reserve([window]) for _ in range(500)]
    assert max(s for s in slots if s) == 1_800_000_099.0 and set(Counter(slots).values()) == {5}
    assert len(writes) <= 3 * 500


def test_a_booking_too_far_ahead_says_when_to_ask_again(aws_env, frozen, monkeypatch):
    monkeypatch.setattr(pacing, "MAX_PROBES", 2)
    window, minute = Window("w", 1, 60), 1_800_000_000
    for start in (minute, minute + 60, minute + 120):  # booked by writers whose marks were lost
        pacing._take(window, start, 1)
    with pytest.raises(pacing.TooFar) as raised:
        pacing.reserve([window])
    assert raised.value.retry_at == minute + 180


def test_platforms_declare_their_published_limits():
    ding = DingTalk("i", DingTalk.Credentials(corp_id="c", agent_id="1", client_id="k", client_secret="s",
                                              aes_key="a" * 43, token="t"), DingTalk.Settings(edition="professional"))
    assert [(w.limit, w.seconds) for w in ding.windows("send", "user", "u")] == [(40, 1)]
    assert [(w.limit, w.seconds) for w in ding.windows("send", "chat", "cid1")] == [(40, 1), (20, 60)]
    assert [(w.limit, w.seconds) for w in ding.windows("update", "chat", "cid1")] == [(40, 1)]
    feishu = Feishu("i", Feishu.Credentials(app_id="a", app_secret="s", verification_token="v"), Feishu.Settings())
    assert (5, 1) in [(w.limit, w.seconds) for w in feishu.windows("send", "chat", "oc_1")]
    wecom = WeCom("i", WeCom.Credentials(corp_id="c"), WeCom.Settings())
    assert [(w.limit, w.seconds) for w in wecom.windows("send", "user", "zhang")] == [(30, 60), (1000, 3600)]


def test_a_full_window_defers_the_card_to_its_reserved_slot_without_spending_an_attempt(
        fake_platform, monkeypatch, frozen):
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    monkeypatch.setattr(fake_platform, "windows", lambda self, *a, **k: [Window("full", 1, 60)], raising=False)
    pacing.reserve([Window("full", 1, 60)])  # someone else used the only slot
    worker.handle_notification(json.dumps(notification()))
    requeued = []
    monkeypatch.setattr(queues, "deliver", lambda jobs, delay=0: requeued.extend((j, delay) for j in jobs))
    for job in drain("deliveries"):
        worker.handle_delivery(json.dumps(job["body"]))
    (job, delay), = requeued
    assert job.attempt == 0 and job.slot_at == 1_800_000_060.0 and delay == 60
    record = deliveries.of("inc-1")[0]
    assert record["state"] == "deferred" and "slot reserved in 59.8s" in record["error"]
    assert fake_platform.sent == []

    frozen[0] = 1_800_000_060.4  # the job comes back in its window and uses its slot: no second booking
    worker.handle_delivery(job.model_dump_json())
    assert len(fake_platform.sent) == 1 and _window_counts()["rate#full#60#1800000060"] == 1


def test_a_spent_monthly_budget_parks_cards_until_the_month_turns(fake_platform, monkeypatch):
    from chalicelib.common.errors import QuotaExhausted
    from chalicelib.delivery import pipeline as delivery
    from chalicelib.delivery import quota
    from chalicelib.store import ledger
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    monkeypatch.setattr(fake_platform, "editions", {"standard": (None, 2)})
    ledger.count("int_fake", "x")
    ledger.count("int_fake", "x")  # the month's two calls are used
    worker.handle_notification(json.dumps(notification()))
    for job in drain("deliveries"):
        worker.handle_delivery(json.dumps(job["body"]))
    record = deliveries.of("inc-1")[0]
    assert record["state"] == "parked" and "budget" in record["error"] and fake_platform.sent == []
    assert quota.usage({"id": "int_fake", "platform": "fake", "settings": {}})["parked"] == 1

    monkeypatch.setattr(fake_platform, "editions", {"standard": (None, None)})  # the month turned
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
    window = Window("receiver#oc_1", 10, 60)
    warnings = [pacing.reserve([window], critical=False) for _ in range(10)]
    assert warnings.count(None) == 8  # warnings stop at 80 % of the window
    criticals = [pacing.reserve([window], critical=True) for _ in range(3)]
    assert criticals.count(None) == 2  # critical incidents still get the reserved 20 %
    assert criticals[2] == warnings[9] == 1_800_000_060.0  # and then queue for the next window


def _window_counts() -> dict:
    items = aws.table("ephemeral").scan()["Items"]
    return {i["key"]: int(i["n"]) for i in items if i["key"].startswith("rate#") and "n" in i}


def test_a_burst_of_changes_to_one_card_becomes_one_update_of_the_newest_state(fake_platform):
    member()
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    worker.handle_notification(json.dumps(notification()))
    for job in drain("deliveries"):
        worker.handle_delivery(json.dumps(job["body"]))
    for n in range(5):  # the producer sends five changes before any delivery job runs
        worker.handle_notification(json.dumps(notification(title=f"CPU > 9{n}% on db-1")))
    jobs = drain("deliveries")
    for job in jobs:
        worker.handle_delivery(json.dumps(job["body"]))
    assert len(jobs) == 5 and len(fake_platform.sent) == 1
    (_, card), = fake_platform.updated
    assert card.title == "CPU > 94% on db-1"


def test_the_per_api_rate_is_overridable_per_integration():
    feishu = Feishu("i", Feishu.Credentials(app_id="a", app_secret="s", verification_token="v"),
                    Feishu.Settings(qps=20))
    assert (20, 1) in [(w.limit, w.seconds) for w in feishu.windows("send", "user", "ou_1")]
    assert (50, 1) not in [(w.limit, w.seconds) for w in feishu.windows("send", "user", "ou_1")]
