"""What a warm container may keep between invocations: records read from DynamoDB, for a few seconds.

A Lambda container serves one invocation after another; a storm sends it the same integration, token
and people again and again. Each entry lives ``seconds`` (a change made elsewhere is seen once it
expires); a write through this container forgets the entry at once. ``aws.reset()`` empties it all
(the cached records belong to the AWS they were read from).
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

MISSING = object()
_entries: dict[tuple[str, str], tuple[float, Any]] = {}
_lock = threading.Lock()
monotonic = time.monotonic  # lifetimes count real seconds, whatever the app's clock says


def read(space: str, key: str, seconds: float, load: Callable[[], Any]) -> Any:
    """The value kept under (``space``, ``key``) if younger than ``seconds``, else ``load()``, kept."""
    now = monotonic()
    with _lock:
        kept = _entries.get((space, key))
    if kept is not None and now - kept[0] < seconds:
        return kept[1]
    value = load()
    with _lock:
        _entries[(space, key)] = (now, value)
    return value


def keep(space: str, key: str, value: Any) -> None:
    """Keep ``value`` as just read (e.g. the answer of a write that returns the new record)."""
    with _lock:
        _entries[(space, key)] = (monotonic(), value)


def peek(space: str, key: str, seconds: float) -> Any:
    """The value kept if younger than ``seconds``, else MISSING (nothing is loaded)."""
    with _lock:
        kept = _entries.get((space, key))
    return kept[1] if kept is not None and monotonic() - kept[0] < seconds else MISSING


def forget(space: str, key: str | None = None) -> None:
    """Drop one entry, or every entry of ``space``."""
    with _lock:
        for entry in [e for e in _entries if e[0] == space and (key is None or e[1] == key)]:
            del _entries[entry]


def reset() -> None:
    with _lock:
        _entries.clear()
