"""JSON from outside: a nesting bound checked before any parser runs.

Python's json module recurses once per ``[`` or ``{``: some 60 KB of ``[`` is a RecursionError (a
500), not a parse error. Every JSON entry point (callbacks, the admin API, the web app's posts)
measures the nesting first, in one linear pass that never recurses. No payload the app reads nests
anywhere near the bound.
"""
from __future__ import annotations

import re

MAX_DEPTH = 64
_STRUCTURE = re.compile(rb'[\\"\[\]{}]')
_QUOTE, _BACKSLASH, _OPEN = ord('"'), ord("\\"), (ord("["), ord("{"))


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """True when ``raw`` opens more than ``limit`` arrays/objects inside each other (valid JSON or not).

    Brackets inside strings do not count; a backslash in a string hides the character after it."""
    depth, in_string, hidden_until = 0, False, -1
    for found in _STRUCTURE.finditer(raw):
        at = found.start()
        if at < hidden_until:
            continue
        char = raw[at]
        if in_string:
            if char == _BACKSLASH:
                hidden_until = at + 2
            elif char == _QUOTE:
                in_string = False
        elif char == _QUOTE:
            in_string = True
        elif char in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif char != _BACKSLASH:
            depth = max(0, depth - 1)
    return False
