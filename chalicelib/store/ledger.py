"""The monthly ledger of the calls a platform counts: one atomic counter item per integration and month.

A call is counted only while the month's budget has room (the count's condition), so concurrent
functions can never overshoot it; each count hands back the new total, which a warm container keeps
for the next budget check (``kept``) instead of reading the ledger again.
"""
from __future__ import annotations

import datetime as dt

from boto3.dynamodb.conditions import Attr

from chalicelib.common import aws, clock, warm
from chalicelib.common.errors import StorageConflict
from chalicelib.store.base import conditional, plain

KEEP_DAYS = 40  # a month's ledger outlives the month so last month stays visible
KEPT_SECONDS = 60  # how long a container trusts the total it last saw (a soft "running low" check only)
SPENT = "本月调用量已用完，月初自动补发 (monthly call budget spent; parked until the month turns)"
_SPACE = "ledger"


def month(epoch: float | None = None) -> str:
    return dt.datetime.fromtimestamp(clock.now() if epoch is None else epoch, dt.timezone.utc).strftime("%Y-%m")


def _key(integration_id: str, month_: str) -> dict:
    return {"key": f"ledger#{integration_id}#{month_}"}


def count(integration_id: str, api: str, monthly: int | None = None) -> bool:
    """Add one call of ``api`` to this month's ledger (an atomic counter, safe across functions); with a
    ``monthly`` budget only while it has room. False (nothing counted) when it is spent."""
    month_ = month()
    try:
        answer = conditional(
            aws.table("ephemeral").update_item, f"ledger {integration_id}", Key=_key(integration_id, month_),
            UpdateExpression="ADD calls :one, #api :one SET expires_at = if_not_exists(expires_at, :ttl)",
            ExpressionAttributeNames={"#api": f"api:{api}"}, ReturnValues="UPDATED_NEW",
            ExpressionAttributeValues={":one": 1, ":ttl": int(clock.now() + KEEP_DAYS * 86400)},
            **({"ConditionExpression": Attr("calls").not_exists() | Attr("calls").lt(monthly)} if monthly else {}))
    except StorageConflict:
        warm.keep(_SPACE, f"{integration_id}#{month_}", monthly)
        return False
    warm.keep(_SPACE, f"{integration_id}#{month_}", int(answer["Attributes"]["calls"]))
    return True


def calls(integration_id: str) -> int:
    """This month's calls so far, as this container last saw them (up to KEPT_SECONDS old), else read."""
    month_ = month()
    return warm.read(_SPACE, f"{integration_id}#{month_}", KEPT_SECONDS,
                     lambda: int(get(integration_id, month_).get("calls", 0)))


def get(integration_id: str, month_: str) -> dict:
    """The month's item: ``calls`` in all and ``api:<name>`` per API (empty when none were made)."""
    return plain(aws.table("ephemeral").get_item(Key=_key(integration_id, month_)).get("Item") or {})
