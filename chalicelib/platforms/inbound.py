"""Checks every platform's callback handler shares: JSON bodies and timestamp freshness."""
from __future__ import annotations

import json

from chalicelib import clock
from chalicelib.errors import CallbackRejected


def json_body(raw: bytes) -> dict:
    """Parse a JSON object or raise CallbackRejected (never a 500 on garbage)."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, an int over 4300 digits, deep nesting
        raise CallbackRejected("body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise CallbackRejected("body is not a JSON object")
    return value


def fresh(epoch_seconds: float, window: float) -> None:
    """Refuse callbacks stamped more than ``window`` seconds away from now (replays, forged clocks)."""
    if abs(clock.now() - epoch_seconds) > window:
        raise CallbackRejected("timestamp outside the accepted window")
