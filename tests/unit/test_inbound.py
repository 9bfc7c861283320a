"""The checks every callback shares: JSON bodies and timestamps refuse garbage with CallbackRejected only."""
from __future__ import annotations

import json

import pytest

from chalicelib.common import clock
from chalicelib.common.errors import CallbackRejected
from chalicelib.common.json_input import MAX_DEPTH, too_deep
from chalicelib.platforms.inbound import fresh, json_body


@pytest.mark.parametrize("raw", [
    b"[" * 60_000, b'{"a":' * 20_000, b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
    b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
])
def test_bodies_nested_deeper_than_the_bound_are_refused_before_parsing(raw):
    with pytest.raises(CallbackRejected, match="nests deeper"):
        json_body(raw)


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"", b"{", b"[1]", b'"x"', b'{"a": ' + b"1" * 5000 + b"}", b"NaN]"])
def test_garbage_is_refused_with_callback_rejected_only(raw):
    with pytest.raises(CallbackRejected):
        json_body(raw)


def test_brackets_inside_strings_and_escapes_do_not_count():
    deep_text = json.dumps({"a": "[" * 1000, "b": '\\"[[[', "c": [[[1]]]})
    assert json_body(deep_text.encode()) == json.loads(deep_text)
    assert not too_deep(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    assert too_deep(b'["\\\\", ' + b"[" * MAX_DEPTH)  # an escaped backslash ends the string before the brackets


def test_a_body_of_escaped_quotes_is_measured_quickly():
    import time
    started = time.monotonic()
    too_deep(b'"' + b'\\"' * 32_000)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("stamp", ["9" * 400, "²", "１２３", "12a", "", "-5", " 1", "1e9", "1" * 17])
def test_fresh_refuses_any_timestamp_that_is_not_a_plain_number(stamp):
    with pytest.raises(CallbackRejected):
        fresh(stamp, 3600)


@pytest.mark.parametrize("stamp", [10 ** 400, float("nan"), float("inf"), "nan", None])
def test_fresh_refuses_numbers_no_clock_can_show(stamp):
    with pytest.raises(CallbackRejected):
        fresh(stamp, 3600)


def test_fresh_accepts_seconds_and_milliseconds_inside_the_window():
    fresh(str(int(clock.now())), 60)
    fresh(str(int(clock.now() * 1000)), 60, per_second=1000)
    fresh(clock.now() - 30, 60)
    with pytest.raises(CallbackRejected):
        fresh(str(int(clock.now() - 120)), 60)
