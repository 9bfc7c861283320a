"""The monthly ledger, the editions an adapter declares, and the quota view."""
from __future__ import annotations

import datetime as dt

from chalicelib.common import clock
from chalicelib.delivery import quota
from chalicelib.platforms.dingtalk.adapter import DingTalk
from chalicelib.store import ledger


def _at(day: int, hour: int = 0) -> None:
    clock.reset()
    target = dt.datetime(2026, 11, day, hour, tzinfo=dt.timezone.utc).timestamp()
    clock.advance(target - clock.now())


def _integration(**settings) -> dict:
    return {"id": "int_q", "platform": "dingtalk", "settings": settings}


def test_ledger_counts_calls_per_api_and_in_total(aws_env):
    for _ in range(3):
        ledger.count("int_q", "POST /v1.0/card/instances/createAndDeliver")
    ledger.count("int_q", "PUT /v1.0/card/instances")
    view = quota.usage(_integration())
    assert view["used"] == 4 and view["by_api"]["PUT /v1.0/card/instances"] == 1
    assert (view["edition"], view["qps"], view["monthly_calls"], view["remaining"]) == ("standard", 20, 10_000, 9_996)


def test_editions_and_overrides(aws_env):
    assert DingTalk.limits({"edition": "professional"})["monthly_calls"] == 500_000
    assert DingTalk.limits({"edition": "exclusive", "qps": 30})["qps"] == 30


def test_a_new_month_starts_a_new_ledger(aws_env):
    _at(30, 12)
    ledger.count("int_q", "x")
    _at(1, 0)
    clock.advance(31 * 86400)  # December
    assert quota.usage(_integration())["used"] == 0


def test_forecast_names_the_day_the_budget_runs_out(aws_env):
    _at(11)  # ten days elapsed
    for _ in range(40):
        ledger.count("int_q", "x")
    assert quota.usage(_integration(monthly_calls=100))["forecast_exhaustion"] == "2026-11-26"
    assert quota.usage(_integration(monthly_calls=10_000))["forecast_exhaustion"] is None
