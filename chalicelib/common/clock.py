"""One clock for the whole app, replaceable in tests."""
from __future__ import annotations

import datetime as dt
import time

_offset = 0.0


def now() -> float:
    """Seconds since the epoch (tests shift it with ``advance``)."""
    return time.time() + _offset


def advance(seconds: float) -> None:
    global _offset
    _offset += seconds


def reset() -> None:
    global _offset
    _offset = 0.0


def iso(epoch: float | None = None) -> str:
    """UTC ISO-8601 with a Z, to the second."""
    moment = dt.datetime.fromtimestamp(now() if epoch is None else epoch, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
