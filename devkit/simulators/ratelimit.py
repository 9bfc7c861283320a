"""Call counting shared by the platform simulators: windows per key (fixed or sliding) and a monthly budget.

The platforms do not say how they count a limit, so a simulator enforces either style: windows aligned
to the epoch (the default) or any span of the limit's length (``RATE_WINDOWS=sliding``, or the
simulator's ``window_style``).
"""
from __future__ import annotations

import os
import time
from collections import deque


class FixedWindow:
    """At most ``limit`` hits per key in each ``seconds``-long window aligned to the epoch."""

    style = "fixed"

    def __init__(self, limit: int, seconds: int = 1) -> None:
        self.limit, self.seconds = limit, seconds
        self._seen: dict[str, tuple[int, int]] = {}  # key -> (window index, hits in it)

    def hit(self, key: str, now: float) -> bool:
        """Count one hit; True when it goes over the limit."""
        window = int(now // self.seconds)
        last, seen = self._seen.get(key, (window, 0))
        seen = seen + 1 if last == window else 1
        self._seen[key] = (window, seen)
        return seen > self.limit

    def reset_in(self, now: float) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        return max(1, int(self.seconds - now % self.seconds))


class SlidingWindow:
    """At most ``limit`` hits per key in any ``seconds``-long span (counted over ``(now - seconds, now]``)."""

    style = "sliding"

    def __init__(self, limit: int, seconds: int = 1) -> None:
        self.limit, self.seconds = limit, seconds
        self._seen: dict[str, deque[float]] = {}  # key -> moments of its hits in the last span

    def hit(self, key: str, now: float) -> bool:
        """Count one hit; True when it goes over the limit."""
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self.seconds:
            seen.popleft()
        seen.append(now)
        return len(seen) > self.limit

    def reset_in(self, now: float) -> int:
        """Whole seconds until a hit made now has left the span (at least 1)."""
        return max(1, int(self.seconds))


STYLES = {kind.style: kind for kind in (FixedWindow, SlidingWindow)}


def chosen_style(style: str | None = None) -> str:
    """``style``, else ``RATE_WINDOWS`` from the environment, else fixed; ValueError when unknown."""
    style = style or os.environ.get("RATE_WINDOWS", "fixed")
    if style not in STYLES:
        raise ValueError(f"window style is one of {sorted(STYLES)}, not {style!r}")
    return style


def window(limit: int, seconds: int = 1, style: str | None = None) -> FixedWindow | SlidingWindow:
    """A counter of the chosen style."""
    return STYLES[chosen_style(style)](limit, seconds)


class MonthlyQuota:
    """A call budget per calendar month (UTC); ``limit`` None means unlimited."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.used = 0
        self._month = ""

    def spend(self, now: float) -> bool:
        """Count one call; True when the month's budget was already spent (the call is refused)."""
        month = time.strftime("%Y-%m", time.gmtime(now))
        if month != self._month:
            self._month, self.used = month, 0
        if self.limit is not None and self.used >= self.limit:
            return True
        self.used += 1
        return False

    def public(self) -> dict[str, int | None]:
        return {"used": self.used, "limit": self.limit}
