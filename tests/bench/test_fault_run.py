"""The fault run plays end to end on a handful of cards and its counts add up.

It does not ask for zero stale cards: the run measures them (bench/fault_run.py's docstring has the figures).
"""
from __future__ import annotations

from bench.fault_audit import TALLIES
from bench.fault_run import Options, report, run


def test_a_small_fault_run_settles_and_its_counts_add_up() -> None:
    figures = run(Options(cards=12, seed=7, drivers=4, workers=2, settle_timeout=120))
    total, platforms = figures["audit"]["total"], figures["audit"]["platforms"]

    assert figures["settled"] and figures["handler_failures"] == 0 and figures["dead_letters"] == 0
    assert set(platforms) == {"dingtalk", "feishu", "wecom"}
    assert total["deliveries"] == 12  # every card asked for has its delivery record
    assert total["deliveries"] == (total["cards"] - total["duplicates"] + total["lost"]
                                   + total["undelivered_with_reason"])
    assert total["stale"] == total["stale_with_reason"] + total["stale_without_reason"] <= total["cards"]
    assert sum(cause["cards"] for cause in figures["audit"]["causes"]) == total["stale"] == len(figures["stale_cards"])
    assert all(total[name] == sum(tally[name] for tally in platforms.values()) for name in TALLIES)
    assert sum(f["calls"] for f in figures["faults"].values()) > 0
    assert "stale cards by cause" in report(figures)
