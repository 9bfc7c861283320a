"""Call counting shared by the platform simulators: fixed windows per key and a monthly call budget."""
from __future__ import annotations

import time


class FixedWindow:
    """At most ``limit`` hits per key in each ``seconds``-long window aligned to the epoch."""

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
