"""The source push bench runs on a few pushes and groups: every figure comes out, and the 1,000-alert
group arrives as one card that says so within Feishu's size limit. It asserts no timing: bench/source_push.py's
docstring has the figures."""
from __future__ import annotations

from bench.source_push import Options, report, run


def test_a_small_source_push_run_reports_every_figure_and_one_card_for_a_thousand_alerts() -> None:
    figures = run(Options(pushes=3, clients=(1, 2), groups=2, alerts=1000))
    card = figures["live"]["one_card"]

    assert card["cards"] == 1 and card["says_count"] and card["bytes"] <= card["limit"] and card["rejections"] == 0
    assert figures["live"]["handler_failures"] == 0
    assert set(figures["in_process"]) == set(figures["live"]["answers"]) == {"small", "large"}
    assert "new group → card" in report(figures) and "one resolved → card updated" in report(figures)
