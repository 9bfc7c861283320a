"""The DynamoDB token cache: reuse, refresh ahead of expiry, one writer, invalidation, sealing."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from chalicelib.common import aws, clock
from chalicelib.platforms import tokens
from chalicelib.store import ephemeral

KEY = "int_t#app"
MARGIN = 300
LIFETIME = 3600


class CountingFetch:
    """A token endpoint that hands out tok-1, tok-2, … and counts the calls."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self) -> tuple[str, int]:
        with self._lock:
            self.calls += 1
            number = self.calls
        time.sleep(self.delay)
        return f"tok-{number}-0123456789abcdef", LIFETIME


def test_cached_token_is_reused(aws_env) -> None:
    fetch = CountingFetch()
    first = tokens.get(KEY, fetch, MARGIN)
    assert tokens.get(KEY, fetch, MARGIN) == first
    assert fetch.calls == 1


def test_token_is_kept_until_the_margin_and_refreshed_inside_it(aws_env) -> None:
    fetch = CountingFetch()
    first = tokens.get(KEY, fetch, MARGIN)
    clock.advance(LIFETIME - MARGIN - 5)
    assert tokens.get(KEY, fetch, MARGIN) == first and fetch.calls == 1
    clock.advance(10)
    second = tokens.get(KEY, fetch, MARGIN)
    assert second != first and fetch.calls == 2
    assert tokens.get(KEY, fetch, MARGIN) == second and fetch.calls == 2


def test_refresh_releases_its_lock(aws_env) -> None:
    tokens.get(KEY, CountingFetch(), MARGIN)
    assert ephemeral.get(f"lock#token#{KEY}") is None


def test_while_another_writer_refreshes_the_old_token_is_still_served(aws_env) -> None:
    fetch = CountingFetch()
    first = tokens.get(KEY, fetch, MARGIN)
    clock.advance(LIFETIME - MARGIN + 10)
    assert ephemeral.claim(f"lock#token#{KEY}", 10)
    assert tokens.get(KEY, fetch, MARGIN) == first
    assert fetch.calls == 1


def test_concurrent_callers_on_an_empty_cache_fetch_once_and_share_the_token(aws_env, atomic_conditions) -> None:
    fetch = CountingFetch(delay=0.2)
    aws.table("ephemeral")  # build the shared resource before the threads race for it
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: tokens.get(KEY, fetch, MARGIN), range(8)))
    assert fetch.calls == 1
    assert len(set(results)) == 1


def test_caller_that_wins_the_lock_just_after_another_refresh_uses_that_token(aws_env, monkeypatch) -> None:
    """The 8-thread race made deterministic: B reads an empty cache, then A refreshes and releases
    the lock before B claims it; B must take A's fresh token rather than fetch a second one."""
    fetch = CountingFetch()
    real_get = ephemeral.get
    raced: list[str] = []

    def get_then_let_a_finish(key: str) -> dict | None:
        item = real_get(key)
        if key == f"token#{KEY}" and not raced:
            monkeypatch.setattr(ephemeral, "get", real_get)
            raced.append(tokens.get(KEY, fetch, MARGIN))  # caller A, between B's read and B's claim
        return item

    monkeypatch.setattr(ephemeral, "get", get_then_let_a_finish)
    assert tokens.get(KEY, fetch, MARGIN) == raced[0]
    assert fetch.calls == 1


def test_invalidate_removes_only_the_token_it_names(aws_env) -> None:
    fetch = CountingFetch()
    first = tokens.get(KEY, fetch, MARGIN)
    other = tokens.get("int_t#oapi", fetch, MARGIN)
    tokens.invalidate(KEY, "some-older-token")
    assert tokens.get(KEY, fetch, MARGIN) == first and fetch.calls == 2
    tokens.invalidate(KEY, first)
    assert tokens.get(KEY, fetch, MARGIN) not in (first, other) and fetch.calls == 3
    assert tokens.get("int_t#oapi", fetch, MARGIN) == other and fetch.calls == 3


def test_stored_token_is_sealed_not_in_clear_text(aws_env) -> None:
    token = tokens.get(KEY, CountingFetch(), MARGIN)
    raw = aws.table("ephemeral").get_item(Key={"key": f"token#{KEY}"}, ConsistentRead=True)["Item"]
    assert token not in repr(raw)
    assert "sealed" in raw and int(raw["valid_until"]) > clock.now()
