"""The simulators' counting styles: windows aligned to the epoch, or any span of the limit's length."""
from __future__ import annotations

import pytest

from devkit.simulators.ratelimit import FixedWindow, SlidingWindow, window
from devkit.simulators.wecom.gate import Limits


def test_a_sliding_window_counts_any_span_where_a_fixed_one_resets_at_the_boundary():
    burst = [0.6, 0.7, 0.8, 1.1, 1.2, 1.3]  # three each side of a second boundary, all within 0.7 s
    fixed, sliding = FixedWindow(3, 1), SlidingWindow(3, 1)
    assert [fixed.hit("k", t) for t in burst] == [False] * 6
    assert [sliding.hit("k", t) for t in burst] == [False, False, False, True, True, True]


def test_a_sliding_window_lets_a_hit_go_once_the_one_a_span_before_has_left():
    sliding = SlidingWindow(2, 60)
    assert [sliding.hit("k", t) for t in (0, 30, 59.9)] == [False, False, True]
    assert sliding.hit("k", 60.0) is True  # 30 and 59.9 are still in (0, 60]
    assert SlidingWindow(2, 60).hit("other", 0) is False and sliding.reset_in(60.0) == 60


def test_the_style_comes_from_the_caller_else_the_environment(monkeypatch):
    assert isinstance(window(5), FixedWindow)
    monkeypatch.setenv("RATE_WINDOWS", "sliding")
    assert isinstance(window(5), SlidingWindow) and isinstance(window(5, 1, "fixed"), FixedWindow)
    with pytest.raises(ValueError, match="fixed"):
        window(5, 1, "leaky")


def test_wecom_switches_style_through_its_limits_control():
    limits = Limits()
    limits.configure({"windowStyle": "sliding", "memberPerMinute": 2})
    assert limits.public()["windowStyle"] == "sliding" and limits.member_minute.limit == 2
    with pytest.raises(ValueError):
        limits.configure({"windowStyle": "leaky"})
