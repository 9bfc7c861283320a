"""Send as fast as a platform allows and no faster, across every function running at once.

Each limit is a fixed window counted in DynamoDB: one conditional ``ADD`` takes a slot in a window
only while its count is under the limit, so concurrent workers can never overshoot. A card that
finds the current window full reserves a slot in the first later window with room and is enqueued
once with the delay to it: nothing sleeps inside a Lambda, and a storm costs one handler run per
card plus one per deferral, not one per card per window boundary.
"""
from __future__ import annotations

import math

from boto3.dynamodb.conditions import Attr

from chalicelib.common import aws, clock
from chalicelib.common.errors import StorageConflict
from chalicelib.platforms.base import Window
from chalicelib.store.base import conditional

CRITICAL_RESERVE = 0.2  # the share of every window only critical incidents may use
MAX_PROBES = 64  # windows looked at beyond the first known to have room, per reservation


class TooFar(Exception):
    """No room within ``MAX_PROBES`` windows: try again at ``retry_at`` without a reservation."""

    def __init__(self, retry_at: float) -> None:
        super().__init__(f"no room before {retry_at}")
        self.retry_at = retry_at


def reserve(windows: list[Window], critical: bool = True) -> float | None:
    """Take a slot in every window at the earliest moment all of them have room.

    Returns None when that moment is now, else the reserved moment (the start of a later window):
    the caller sends then, without reserving again, see ``holds``. Non-critical cards see each
    window as ``1 - CRITICAL_RESERVE`` of its size, so a storm of warnings never takes the room a
    critical incident needs. Raises TooFar when the windows are booked further ahead than
    ``MAX_PROBES`` windows.
    """
    now = clock.now()
    moment, held = now, {}
    index = 0
    while index < len(windows):
        window = windows[index]
        if held.get(index) == window.start(moment):
            index += 1
            continue
        if index in held:  # a later window moved the moment past this slot: hand it back
            _give_back(window, held.pop(index))
        held[index] = _first_room(window, window.start(moment), _limit(window, critical), critical)
        if held[index] > moment:
            moment, index = float(held[index]), 0  # every window must have room at the new moment
        else:
            index += 1
    return None if moment == now else moment


def holds(windows: list[Window], slot_at: float) -> bool:
    """True while now lies in the windows a reservation for ``slot_at`` took its slots in."""
    now = clock.now()
    return now >= slot_at and all(w.start(now) == w.start(slot_at) for w in windows)


def _limit(window: Window, critical: bool) -> int:
    return window.limit if critical else max(1, math.floor(window.limit * (1 - CRITICAL_RESERVE)))


def _key(window: Window, start: int | str) -> dict:
    return {"key": f"rate#{window.key}#{window.seconds}#{start}"}


def _first_room(window: Window, start: int, limit: int, critical: bool) -> int:
    """The first window from ``start`` on where a slot could be taken (and it is taken).

    Windows found full are remembered per priority tier, so the next card starts looking where
    the last one found room instead of probing the whole backlog again.
    """
    if _take(window, start, limit):
        return start
    tier = "critical" if critical else "normal"
    start = max(start + window.seconds, _booked_until(window, tier))
    for _ in range(MAX_PROBES):
        if _take(window, start, limit):
            return start
        start += window.seconds
        _mark_booked(window, tier, start)
    raise TooFar(start)


def _take(window: Window, start: int, limit: int) -> bool:
    #   count missing (first call of this window)  -> create it at 1
    #   count < limit                              -> add 1
    #   count >= limit                             -> refuse, nothing written
    try:
        conditional(aws.table("ephemeral").update_item, f"window {window.key}",
                    Key=_key(window, start),
                    UpdateExpression="ADD n :one SET expires_at = :ttl",
                    ConditionExpression=Attr("n").not_exists() | Attr("n").lt(limit),
                    ExpressionAttributeValues={":one": 1, ":ttl": start + window.seconds + 60})
    except StorageConflict:
        return False
    return True


def _give_back(window: Window, start: int) -> None:
    try:
        conditional(aws.table("ephemeral").update_item, f"window {window.key}", Key=_key(window, start),
                    UpdateExpression="ADD n :minus_one", ConditionExpression=Attr("n").gt(0),
                    ExpressionAttributeValues={":minus_one": -1})
    except StorageConflict:
        pass  # the window expired meanwhile: nothing to give back


def _booked_until(window: Window, tier: str) -> int:
    item = aws.table("ephemeral").get_item(Key=_key(window, f"booked#{tier}")).get("Item") or {}
    return int(item.get("until", 0))


def _mark_booked(window: Window, tier: str, until: int) -> None:
    """Remember that every window before ``until`` is full for ``tier`` (only ever moves forward)."""
    try:
        conditional(aws.table("ephemeral").update_item, f"window {window.key}", Key=_key(window, f"booked#{tier}"),
                    UpdateExpression="SET #until = :until, expires_at = :ttl",
                    ConditionExpression=Attr("until").not_exists() | Attr("until").lt(until),
                    ExpressionAttributeNames={"#until": "until"},
                    ExpressionAttributeValues={":until": until, ":ttl": until + window.seconds + 60})
    except StorageConflict:
        pass  # another worker already marked it further ahead
