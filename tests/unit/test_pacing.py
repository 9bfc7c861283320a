"""The shared pacing scheduler: never over a window, deferral to the reopening, no attempt spent."""
from __future__ import annotations

import heapq
import itertools
import json
import math
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
from devkit.simulators.ratelimit import FixedWindow, SlidingWindow
from tests.conftest import drain
from tests.factories import member, notification


@pytest.fixture
def frozen(monkeypatch):
    """A clock that moves only when told to."""
    now = [1_800_000_000.25]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    return now


@pytest.fixture
def waits(frozen, monkeypatch):
    """Pacing's wait for a slot a moment away moves the frozen clock instead of sleeping."""
    monkeypatch.setattr(pacing, "sleep", lambda seconds: frozen.__setitem__(0, round(frozen[0] + seconds, 6)))


def _burst(now: list[float], windows: list[Window], cards: int) -> list[float]:
    """Fire ``cards`` at once through reserve and holds as admission does (SQS delays are whole
    seconds, a handler run at a time); returns the moments each was sent."""
    queue, order, sent = [(now[0], n, None) for n in range(cards)], itertools.count(cards), []
    while queue:
        due, _, slot_at = heapq.heappop(queue)
        now[0] = max(now[0], due)
        if slot_at is not None and pacing.holds(windows, slot_at):
            sent.append(now[0])
            continue
        if slot_at is None or slot_at <= now[0]:
            slot_at = pacing.reserve(windows)
        if slot_at is None:
            sent.append(now[0])
        else:
            heapq.heappush(queue, (now[0] + math.ceil(slot_at - now[0]), next(order), slot_at))
    return sent


def test_a_full_window_books_the_first_slot_a_whole_span_later(aws_env, frozen, waits):
    window = Window("app#api", 3, 60)  # 1.5 s slots; no run of 42 slots holds more than 3
    assert [pacing.reserve([window]) for _ in range(3)] == [None, None, None]
    come_back = pacing.reserve([window])
    assert come_back == 1_800_000_063.0 - pacing.COME_BACK_EARLY  # the slot starts 63 s (42 slots) later
    frozen[0] = 1_800_000_040.0
    assert pacing.holds([window], come_back) is False  # far too early (SQS's 15-minute cap): back to the queue
    frozen[0] = 1_800_000_062.0
    assert pacing.holds([window], come_back) is True and frozen[0] == 1_800_000_063.0  # waited for its slot
    frozen[0] = 1_800_000_064.6
    assert pacing.holds([window], come_back) is False  # late: its slot has passed, and it is handed back
    assert _booked("app#api", 60) == {}  # its slot is free again (the first three's, a run ago, forgotten)


def test_a_burst_never_puts_more_than_the_limit_in_any_span_and_keeps_nine_tenths_of_the_rate(
        aws_env, frozen, waits):
    """Cards fired at once go through reserve and holds as admission does, with SQS's whole-second
    delays; both counting styles see every send, and none is over."""
    for limit, seconds, cards in ((5, 1, 40), (5, 1, 400), (20, 60, 100), (30, 60, 100)):
        begin, window = frozen[0], Window(f"burst#{limit}#{cards}", limit, seconds)
        sent = _burst(frozen, [window], cards)
        for style in (SlidingWindow, FixedWindow):
            counter = style(limit, seconds)
            assert not any(counter.hit("k", moment) for moment in sent), style.__name__
        assert all(later - earlier >= seconds for earlier, later in zip(sent, sent[limit:], strict=False))
        fastest = (math.ceil(cards / limit) - 1) * seconds  # when the last card could go at the earliest
        assert (fastest + seconds) / (sent[-1] - begin + seconds) >= 0.9
        frozen[0] += 3600


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
    first = 1_800_000_063.0 - pacing.COME_BACK_EARLY
    assert Counter(slots) == {None: 30, first: 30, first + 63: 20}


def test_a_slot_is_taken_only_where_every_window_has_room(aws_env, frozen, waits):
    frozen[0] = 1_800_000_000.0
    per_second, per_minute = Window("k", 2, 1), Window("k", 3, 60)
    assert [pacing.reserve([per_second, per_minute]) for _ in range(3)] == [None, None, None]
    assert frozen[0] == 1_800_000_001.05  # the third waited 42 slots of 25 ms for the per-second room
    assert pacing.reserve([per_second, per_minute]) == 1_800_000_063.0 - pacing.COME_BACK_EARLY  # minute full
    assert _booked("k", 1) == {72_000_000_000: 2, 72_000_000_042: 1, 72_000_002_520: 1}
    assert _booked("k", 60) == {1_200_000_000: 3, 1_200_000_042: 1}


def test_a_long_backlog_costs_one_write_per_window_and_card_once_the_container_has_read_the_book(
        aws_env, frozen, monkeypatch):
    window, calls = Window("receiver#ou_1", 5, 1), Counter()
    monkeypatch.setattr(pacing, "sleep", lambda seconds: None)  # the clock stands still: all 500 book now
    table = aws.table("ephemeral")
    for name in ("get_item", "put_item", "update_item"):
        original = getattr(table, name)
        monkeypatch.setattr(table, name, lambda original=original, name=name, **kw: calls.update([name]) or
                            original(**kw))
    slots = [pacing.reserve([window]) for _ in range(500)]
    assert Counter(slots)[None] == 10  # now, and 1.05 s later (waited for)
    assert set(Counter(s for s in slots if s).values()) == {5}
    assert max(s for s in slots if s) == pytest.approx(1_800_000_104.2 - pacing.COME_BACK_EARLY)
    assert calls == {"get_item": 1, "put_item": 500}


def test_a_booking_too_far_ahead_says_when_to_ask_again(aws_env, frozen, monkeypatch):
    monkeypatch.setattr(pacing, "HORIZON", 2)
    window = Window("w", 1, 600)  # 15 s slots
    assert pacing.reserve([window]) is None
    assert pacing.reserve([window]) == 1_800_000_630.0 - pacing.COME_BACK_EARLY
    with pytest.raises(pacing.TooFar) as raised:
        pacing.reserve([window])  # its slot would start at 1_800_001_260
    assert raised.value.retry_at == 1_800_001_200.25  # the end of the two windows booked ahead


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
        fake_platform, monkeypatch, frozen, waits):
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
    assert job.attempt == 0 and job.slot_at == 1_800_000_061.5 and delay == 62  # back 1.5 s before its slot
    record = deliveries.of("inc-1")[0]
    assert record["state"] == "deferred" and "slot reserved in 61.2s" in record["error"]
    assert fake_platform.sent == []

    frozen[0] = 1_800_000_062.4  # the job comes back, waits for its slot and uses it: no second booking
    worker.handle_delivery(job.model_dump_json())
    assert len(fake_platform.sent) == 1 and frozen[0] == 1_800_000_063.0
    assert _booked("full", 60) == {1_200_000_000: 1, 1_200_000_042: 1}


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
    assert criticals[2] == warnings[9] == 1_800_000_063.0 - pacing.COME_BACK_EARLY  # then a whole span later


def _booked(key: str, seconds: int) -> dict[int, int]:
    item = aws.table("ephemeral").get_item(Key={"key": f"rate#{key}#{seconds}"}).get("Item") or {}
    return {int(slot): int(n) for slot, n in item.get("slots", {}).items()}


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
