"""Access tokens cached in DynamoDB and shared by every function.

One writer refreshes a token ahead of expiry (a short lock item keeps the others from stampeding
the platform's token endpoint); the others keep using the still-valid old token meanwhile. Tokens
are sealed like any other secret. A warm container keeps the token it read or fetched in memory
until ``margin`` seconds before it expires, and forgets it when the platform refuses it.
"""
from __future__ import annotations

import time
from typing import Callable

from chalicelib.common import clock, sealing, warm
from chalicelib.store import ephemeral

_LOCK_SECONDS = 10
_WAIT_STEP = 0.1
_WAIT_STEPS = 30
_SPACE = "token"


def get(key: str, fetch: Callable[[], tuple[str, int]], margin: int) -> str:
    """The token stored under ``key``, refreshed through ``fetch`` when under ``margin`` seconds remain."""
    kept = warm.peek(_SPACE, key, float("inf"))
    if kept is not warm.MISSING and kept[1] - margin > clock.now():
        return kept[0]
    for _ in range(_WAIT_STEPS):
        item = ephemeral.get(f"token#{key}")
        if item and item["valid_until"] - margin > clock.now():
            return _open(item, key)
        if ephemeral.claim(f"lock#token#{key}", _LOCK_SECONDS):
            return _refresh(key, fetch, margin)
        if item and item["valid_until"] > clock.now():
            return _open(item)  # someone else is refreshing; the old token is still good
        time.sleep(_WAIT_STEP)
    return _refresh(key, fetch)


def invalidate(key: str, token: str) -> None:
    """Forget ``token`` after the platform refused it (only if nobody replaced it already)."""
    warm.forget(_SPACE, key)
    item = ephemeral.get(f"token#{key}")
    if item and _open(item) == token:
        ephemeral.delete(f"token#{key}", valid_until=item["valid_until"])


def forget(key: str) -> None:
    """Forget the token stored under ``key`` whatever it is (the platform revoked it, e.g. WeCom's cancel_auth)."""
    warm.forget(_SPACE, key)
    ephemeral.delete(f"token#{key}")


def _refresh(key: str, fetch: Callable[[], tuple[str, int]], margin: int = 0) -> str:
    try:
        item = ephemeral.get(f"token#{key}")  # someone may have refreshed between our read and our lock
        if margin and item and item["valid_until"] - margin > clock.now():
            return _open(item, key)
        token, expires_in = fetch()
        valid_until = int(clock.now() + expires_in)
        ephemeral.put(f"token#{key}", expires_in, sealed=sealing.seal({"token": token}), valid_until=valid_until)
        warm.keep(_SPACE, key, (token, valid_until))
        return token
    finally:
        ephemeral.delete(f"lock#token#{key}")


def _open(item: dict, key: str | None = None) -> str:
    """The stored token; kept in memory when it is the current one (not an old one used while refreshing)."""
    token = sealing.unseal(item["sealed"])["token"]
    if key is not None:
        warm.keep(_SPACE, key, (token, item["valid_until"]))
    return token
