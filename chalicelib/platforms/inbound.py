"""Checks every platform's callback handler shares: JSON bodies and timestamp freshness."""
from __future__ import annotations

import json

from chalicelib import clock
from chalicelib.errors import CallbackRejected


def json_body(raw: bytes) -> dict:
    """Parse a JSON object or raise CallbackRejected (never a 500 on garbage)."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # RecursionError: deep nesting
        raise CallbackRejected("body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise CallbackRejected("body is not a JSON object")
    return value


def stamp(text: object, max_digits: int = 16) -> int:
    """A callback's timestamp field: ASCII digits only and bounded, or CallbackRejected (``str.isdigit``
    takes "²", and a 400-digit number overflows any clock arithmetic)."""
    if not isinstance(text, str) or not 0 < len(text) <= max_digits or not (text.isascii() and text.isdigit()):
        raise CallbackRejected("timestamp is not a short string of ASCII digits")
    return int(text)


def fresh(epoch_seconds: float, window: float) -> None:
    """Refuse callbacks stamped more than ``window`` seconds away from now (replays, forged clocks)."""
    if abs(clock.now() - epoch_seconds) > window:
        raise CallbackRejected("timestamp outside the accepted window")
