"""Checks every platform's callback handler shares: JSON bodies and timestamp freshness.

Both refuse anything they cannot accept with CallbackRejected, never another error: whatever a
caller sends, the route answers its one refusal, never a 500.
"""
from __future__ import annotations

import json
import math

from chalicelib.common import clock
from chalicelib.common.errors import CallbackRejected
from chalicelib.common.json_input import MAX_DEPTH, too_deep

MAX_STAMP_DIGITS = 16  # milliseconds since 1970 have 13 digits until the year 2286


def json_body(raw: bytes) -> dict:
    """Parse a JSON object or raise CallbackRejected (never a 500 on garbage)."""
    if too_deep(raw):
        raise CallbackRejected(f"body nests deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, an int over 4300 digits, deep nesting
        raise CallbackRejected("body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise CallbackRejected("body is not a JSON object")
    return value


def stamp(text: object, max_digits: int = MAX_STAMP_DIGITS) -> int:
    """A callback's timestamp field: ASCII digits only and bounded, or CallbackRejected (``str.isdigit``
    takes "²", and a 400-digit number overflows any clock arithmetic)."""
    if not isinstance(text, str) or not 0 < len(text) <= max_digits or not (text.isascii() and text.isdigit()):
        raise CallbackRejected("timestamp is not a short string of ASCII digits")
    return int(text)


def fresh(sent: str | float, window: float, per_second: int = 1) -> None:
    """Refuse callbacks stamped more than ``window`` seconds away from now (replays, forged clocks).

    ``sent`` is the timestamp as the platform sent it (ASCII digits, ``per_second`` units a second,
    e.g. 1000 for milliseconds), or a number already read from it."""
    try:
        seconds = (stamp(sent) if isinstance(sent, str) else float(sent)) / per_second
    except (TypeError, ValueError, OverflowError) as exc:
        raise CallbackRejected("timestamp is not a number") from exc
    if not math.isfinite(seconds) or abs(clock.now() - seconds) > window:
        raise CallbackRejected("timestamp outside the accepted window")
