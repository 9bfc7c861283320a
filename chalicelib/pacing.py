"""Send as fast as a platform allows and no faster, across every function running at once.

Each limit is a fixed window counted in DynamoDB: one conditional ``ADD`` per window takes a slot
only while the count is under the limit, so concurrent workers can never overshoot. A delivery
that finds a window full is deferred to the moment it reopens (the caller re-enqueues it with that
delay); nothing sleeps inside a Lambda.
"""
from __future__ import annotations

from dataclasses import dataclass

from boto3.dynamodb.conditions import Attr

from chalicelib import aws, clock
from chalicelib.errors import StorageConflict
from chalicelib.store.base import conditional


@dataclass(frozen=True)
class Window:
    """At most ``limit`` calls per ``seconds`` for ``key`` (e.g. one receiver, one API of one app)."""

    key: str
    limit: int
    seconds: int


CRITICAL_RESERVE = 0.2  # the share of every window only critical incidents may use


def acquire(windows: list[Window], critical: bool = True) -> float | None:
    """Take a slot in every window; None when all had room, else the seconds until a full one reopens.

    Non-critical cards see each window as ``1 - CRITICAL_RESERVE`` of its size, so a storm of
    warnings never takes the room a critical incident needs. Slots taken in earlier windows before
    a later one refuses are not given back: that wastes a little capacity but can never let a
    burst through.
    """
    now = clock.now()
    for window in windows:
        start = int(now // window.seconds) * window.seconds
        limit = window.limit if critical else max(1, int(window.limit * (1 - CRITICAL_RESERVE)))
        if not _take(window, start, limit):
            return max(0.05, start + window.seconds - now)
    return None


def _take(window: Window, start: int, limit: int) -> bool:
    #   count missing (first call of this window)  -> create it at 1
    #   count < limit                              -> add 1
    #   count >= limit                             -> refuse, nothing written
    try:
        conditional(aws.table("ephemeral").update_item, f"window {window.key}",
                    Key={"key": f"rate#{window.key}#{window.seconds}#{start}"},
                    UpdateExpression="ADD n :one SET expires_at = :ttl",
                    ConditionExpression=Attr("n").not_exists() | Attr("n").lt(limit),
                    ExpressionAttributeValues={":one": 1, ":ttl": start + window.seconds + 60})
    except StorageConflict:
        return False
    return True
