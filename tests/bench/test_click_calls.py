"""The click bench counts every AWS call of a warm container's clicks, by operation; a click stays within
issue 17's ten DynamoDB calls. It asserts no timing: bench/click_calls.py prints the figures."""
from __future__ import annotations

from bench.click_calls import PLATFORMS, clicks


def test_a_warm_click_costs_at_most_ten_dynamodb_calls_on_every_platform() -> None:
    rows = clicks(list(PLATFORMS), 2)
    assert [row["platform"] for row in rows] == list(PLATFORMS)
    for row in rows:
        assert 0 < row["aws/click"]["dynamodb"] <= 10, row
        assert "Scan" not in row["aws/click"]["dynamodb ops"], row
