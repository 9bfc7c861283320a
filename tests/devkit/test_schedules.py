"""make run's stand-in for EventBridge: the app's rate schedules run on their rate, cron ones are left out."""
from __future__ import annotations

import threading
import time

from devkit import schedules


def test_the_rate_schedules_are_found_with_their_periods_and_the_cron_one_left_out():
    from app import app

    found = dict(schedules.rates(app))
    assert found == {"chalicelib.routes.workers.sweep_lost_deliveries": 300,
                     "chalicelib.routes.workers.settle_silenced_groups": 120,
                     "chalicelib.routes.workers.check_health": 600}


def test_each_schedule_runs_after_the_first_delay_and_then_once_a_period(monkeypatch):
    from app import app

    ran, stop = [], threading.Event()
    monkeypatch.setattr(schedules.Schedules, "invoke", staticmethod(lambda handler: ran.append(handler)))
    runner = schedules.Schedules(app, stop, first_after=0)
    runner.due = {handler: [timing[0], 0.6] for handler, timing in runner.due.items()}
    runner.start()
    time.sleep(1.6)
    stop.set()
    runner.join(timeout=5)
    assert set(ran) == set(runner.due) and 2 <= ran.count("chalicelib.routes.workers.check_health") <= 4


def test_a_run_hands_the_handler_an_eventbridge_event_and_stores_the_health_summaries(fake_platform):
    from chalicelib.flows import health

    assert health.summaries()["int_fake"]["state"] == "unknown"
    schedules.Schedules.invoke("chalicelib.routes.workers.check_health")
    assert health.summaries()["int_fake"]["state"] != "unknown"
