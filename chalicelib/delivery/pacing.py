"""Send as fast as a platform allows and no faster, however it counts, across every function running at once.

A platform may count a limit in windows aligned to the epoch or over any span of the limit's length
(a sliding window), and none says which. So each limit books its calls in slots of 1/``SLOTS`` of
its length, and no run of ``SLOTS + 2`` consecutive slots ever holds more than the limit: a call sent
anywhere in its slot (one extra slot) and up to one slot later on its way (the other) still leaves
every span of the limit's length at or under the limit, whatever the counting, while a long burst
keeps ``SLOTS / (SLOTS + 2)`` (95 %) of the rate.

A limit's slots live in one item of the ephemeral table, replaced only under the version it was
read at, so concurrent workers never overbook; a call under several limits books them all in one
transaction, or none. A warm container books on the item as it last read or
wrote it, without reading it again: when another worker wrote since, the refused write hands back
the stored item and the booking is tried on that. A card that finds no room books the first slot with
room in every window. SQS delays are whole seconds and a slot of a per-second limit lasts 25 ms, so
the card comes back ``COME_BACK_EARLY`` before its slot and waits for it in the handler (at most that
long); a slot within that time is waited for at once. A storm costs one handler run per card plus
one per deferral.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from chalicelib.common import aws, clock, warm
from chalicelib.common.errors import StorageConflict
from chalicelib.platforms.base import Window
from chalicelib.store.base import conditional, wire_item

SLOTS = 40  # slots per window length: a one-second limit books 25 ms slots
RUN = SLOTS + 2  # slots any span of a window's length can reach: see the module's docstring
CRITICAL_RESERVE = 0.2  # the share of every window only critical incidents may use
HORIZON = 64  # window lengths booked ahead at most, per limit (and never less than a quarter of an hour)
COME_BACK_EARLY = 1.5  # seconds: covers SQS's whole-second delays and the poller's pick-up
KEPT_SECONDS = 300  # a book this container last saw is tried first (a stale one only costs a refused write)
sleep = time.sleep  # the wait for a slot a moment away (the bench's virtual clock replaces it)
_SPACE = "pacing"


class TooFar(Exception):
    """No room within ``HORIZON`` windows: try again at ``retry_at`` without a reservation."""

    def __init__(self, retry_at: float) -> None:
        super().__init__(f"no room before {retry_at}")
        self.retry_at = retry_at


@dataclass
class _Book:
    """One limit's booked slots (slot index -> calls), as read at ``version`` (0: none yet)."""

    window: Window
    slots: dict[int, int] = field(default_factory=dict)
    version: int = 0

    @property
    def slot_ms(self) -> int:
        return self.window.seconds * 1000 // SLOTS

    def room_from(self, at_ms: int, limit: int) -> int:
        """The first moment from ``at_ms`` on whose slot has room: no run of ``RUN`` slots through it is full."""
        slot = at_ms // self.slot_ms
        while True:
            counts = [self.slots.get(s, 0) for s in range(slot - RUN + 1, slot + RUN)]
            sums = [sum(counts[:RUN])]
            for first in range(1, RUN):
                sums.append(sums[-1] - counts[first - 1] + counts[first + RUN - 1])
            full = [first for first, total in enumerate(sums) if total >= limit]
            if not full:
                return at_ms if slot == at_ms // self.slot_ms else slot * self.slot_ms
            slot += full[-1] + 1  # past the last full run through this slot

    def end_of_slot(self, at_ms: int) -> int:
        return (at_ms // self.slot_ms + 1) * self.slot_ms


def reserve(windows: list[Window], critical: bool = True) -> float | None:
    """Book a slot in every window at the earliest moment all of them have room.

    Returns None when the call may go now (having waited up to ``COME_BACK_EARLY`` for its slot),
    else the moment to come back at; ``holds`` then waits for the slot and says whether it is still
    ours. Non-critical cards see each window as ``1 - CRITICAL_RESERVE`` of its size, so a storm of
    warnings never takes the room a critical incident needs. Raises TooFar when the windows are
    booked further ahead than ``HORIZON`` window lengths (or 15 minutes, SQS's longest delay).
    """
    now_ms = math.floor(clock.now() * 1000)
    horizon = now_ms + 1000 * max([900, *(HORIZON * w.seconds for w in windows)])
    while True:
        books = [_known(w) for w in windows]
        at = _earliest(books, now_ms, horizon, critical)
        if at >= horizon:
            raise TooFar(horizon / 1000)
        if _book_all(books, at):
            break
    if at <= now_ms:
        return None
    if at - now_ms <= COME_BACK_EARLY * 1000:
        sleep((at - now_ms) / 1000)
        return None
    return at / 1000 - COME_BACK_EARLY


def holds(windows: list[Window], slot_at: float) -> bool:
    """True when the call booked by ``reserve`` (which answered ``slot_at``) may go now.

    Waits for the slot when the card came back before it; a card still far too early is not let
    through (it goes back to the queue), and one that came back after its slot hands the slot back.
    """
    start_ms = round((slot_at + COME_BACK_EARLY) * 1000)
    now = clock.now()
    if now < slot_at:
        return False
    if now * 1000 < start_ms:
        sleep(start_ms / 1000 - now)
        now = clock.now()
    if all(now * 1000 < _Book(w).end_of_slot(start_ms) for w in windows):
        return True
    for window in windows:
        _give_back(window, start_ms)
    return False


def _limit(window: Window, critical: bool) -> int:
    return window.limit if critical else max(1, math.floor(window.limit * (1 - CRITICAL_RESERVE)))


def _key(window: Window) -> dict:
    return {"key": f"rate#{window.key}#{window.seconds}"}


def _earliest(books: list[_Book], at_ms: int, horizon: int, critical: bool) -> int:
    """The first moment from ``at_ms`` on where every book has room (or ``horizon`` or later)."""
    while at_ms < horizon:
        later = max((b.room_from(at_ms, _limit(b.window, critical)) for b in books), default=at_ms)
        if later == at_ms:
            return at_ms
        at_ms = later
    return at_ms


def _book_all(books: list[_Book], at_ms: int) -> bool:
    """Book ``at_ms`` in every window, all or none (several windows in one transaction); False when one
    changed since it was seen."""
    if len(books) < 2:
        return all(_write(book, at_ms, +1) for book in books)
    table = aws.table("ephemeral")
    items = [_booked(book, at_ms, +1) for book in books]
    try:
        table.meta.client.transact_write_items(TransactItems=[{"Put": {
            "TableName": table.name, "Item": item, "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            "ExpressionAttributeNames": {"#version": "version"},
            **({"ConditionExpression": "#version = :seen", "ExpressionAttributeValues": {":seen": book.version}}
               if book.version else {"ConditionExpression": "attribute_not_exists(#version)"})}}
            for book, item in zip(books, items, strict=True)])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons = exc.response.get("CancellationReasons") or [{"Code": "ConditionalCheckFailed"}] * len(books)
        for book, reason in zip(books, reasons, strict=False):
            if reason.get("Code") != "ConditionalCheckFailed":
                continue
            if "Item" in reason:  # the stored book, which DynamoDB sends back
                _seen(book.window, wire_item(reason["Item"]))
            else:
                warm.forget(_SPACE, _key(book.window)["key"])  # read afresh next time
        return False
    for book, item in zip(books, items, strict=True):
        _seen(book.window, item)
    return True


def _known(window: Window) -> _Book:
    """The book as this container last saw it, else as stored."""
    kept = warm.peek(_SPACE, _key(window)["key"], KEPT_SECONDS)
    return _read(window) if kept is warm.MISSING else _Book(window, dict(kept[1]), kept[0])


def _read(window: Window) -> _Book:
    item = aws.table("ephemeral").get_item(Key=_key(window), ConsistentRead=True).get("Item")
    return _seen(window, item)


def _seen(window: Window, item: dict | None) -> _Book:
    """The book in ``item`` (None: nothing booked yet), kept as this container's latest sight of it."""
    item = item or {}
    book = _Book(window, {int(s): int(n) for s, n in item.get("slots", {}).items()}, int(item.get("version", 0)))
    warm.keep(_SPACE, _key(window)["key"], (book.version, dict(book.slots)))
    return book


def _booked(book: _Book, at_ms: int, change: int) -> dict:
    """The book's item with ``change`` calls more in the slot of ``at_ms`` (older slots dropped), next version."""
    slot = at_ms // book.slot_ms
    oldest = math.floor(clock.now() * 1000) // book.slot_ms - RUN  # older slots can no longer matter
    slots = {s: n for s, n in book.slots.items() if s >= oldest}
    slots[slot] = max(0, slots.get(slot, 0) + change)
    slots = {s: n for s, n in slots.items() if n}
    last = max(slots, default=slot) + RUN
    return {**_key(book.window), "slots": {str(s): n for s, n in slots.items()},
            "version": book.version + 1, "expires_at": last * book.slot_ms // 1000 + 60}


def _write(book: _Book, at_ms: int, change: int) -> bool:
    """Replace the book with ``change`` calls more in the slot of ``at_ms``, if nobody wrote since it was read."""
    item = _booked(book, at_ms, change)
    try:
        conditional(aws.table("ephemeral").put_item, f"window {book.window.key}", Item=item,
                    ConditionExpression=Attr("version").eq(book.version) if book.version
                    else Attr("version").not_exists(), ReturnValuesOnConditionCheckFailure="ALL_OLD")
    except StorageConflict as conflict:
        _seen(book.window, conflict.current)
        return False
    _seen(book.window, item)
    return True


def _give_back(window: Window, at_ms: int) -> None:
    """Hand back one call booked in the slot of ``at_ms`` (a card that came back after its slot)."""
    while not _write(_known(window), at_ms, -1):
        pass  # another worker wrote meanwhile: the refused write brought the stored book


def release(windows: list[Window], slot_at: float) -> None:
    """Hand back the slot ``reserve`` booked (it answered ``slot_at``) for a call that will not come back for it:
    a synchronous caller (the test card) answers "try later" instead of waiting."""
    start_ms = round((slot_at + COME_BACK_EARLY) * 1000)
    for window in windows:
        _give_back(window, start_ms)
