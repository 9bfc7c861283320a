"""The monthly ledger of the calls a platform counts: one atomic counter item per integration and month."""
from __future__ import annotations

import datetime as dt

from chalicelib.common import aws, clock
from chalicelib.store.base import plain

KEEP_DAYS = 40  # a month's ledger outlives the month so last month stays visible


def month(epoch: float | None = None) -> str:
    return dt.datetime.fromtimestamp(clock.now() if epoch is None else epoch, dt.timezone.utc).strftime("%Y-%m")


def _key(integration_id: str, month_: str) -> dict:
    return {"key": f"ledger#{integration_id}#{month_}"}


def count(integration_id: str, api: str) -> None:
    """Add one call of ``api`` to this month's ledger (an atomic counter, safe across functions)."""
    aws.table("ephemeral").update_item(
        Key=_key(integration_id, month()),
        UpdateExpression="ADD calls :one, #api :one SET expires_at = if_not_exists(expires_at, :ttl)",
        ExpressionAttributeNames={"#api": f"api:{api}"},
        ExpressionAttributeValues={":one": 1, ":ttl": int(clock.now() + KEEP_DAYS * 86400)})


def get(integration_id: str, month_: str) -> dict:
    """The month's item: ``calls`` in all and ``api:<name>`` per API (empty when none were made)."""
    return plain(aws.table("ephemeral").get_item(Key=_key(integration_id, month_)).get("Item") or {})
