"""Published limits per platform edition, and a monthly ledger of the calls the platform counts.

DingTalk counts every API call against the org's monthly budget except token, login and contact
calls (服务端API限流处理); the ledger counts what the adapters report. Pacing and deferral
against these limits build on this module.
"""
from __future__ import annotations

import calendar
import datetime as dt

from chalicelib import aws, clock
from chalicelib.store import deliveries
from chalicelib.store.base import plain

# platform -> edition -> (requests per second per API, calls per month or None for unlimited)
EDITIONS: dict[str, dict[str, tuple[int, int | None]]] = {
    "dingtalk": {"standard": (20, 10_000), "professional": (40, 500_000), "exclusive": (60, 5_500_000)},
    "feishu": {"standard": (50, None), "free": (50, 10_000)},
    "wecom": {"standard": (None, None)},
}
LEDGER_DAYS = 40  # a month's ledger outlives the month so last month stays visible


def _month(epoch: float | None = None) -> str:
    return dt.datetime.fromtimestamp(clock.now() if epoch is None else epoch, dt.timezone.utc).strftime("%Y-%m")


def _key(integration_id: str, month: str) -> dict:
    return {"key": f"ledger#{integration_id}#{month}"}


def count(integration_id: str, api: str) -> None:
    """Add one call of ``api`` to this month's ledger (an atomic counter, safe across functions)."""
    aws.table("ephemeral").update_item(
        Key=_key(integration_id, _month()),
        UpdateExpression="ADD calls :one, #api :one SET expires_at = if_not_exists(expires_at, :ttl)",
        ExpressionAttributeNames={"#api": f"api:{api}"},
        ExpressionAttributeValues={":one": 1, ":ttl": int(clock.now() + LEDGER_DAYS * 86400)})


def limits(platform: str, settings: dict) -> dict:
    """The edition's published limits, with per-integration overrides from settings."""
    editions = EDITIONS.get(platform, {})
    edition = str(settings.get("edition") or next(iter(editions), "default"))
    qps, monthly = editions.get(edition, (None, None))
    return {"edition": edition, "qps": settings.get("qps", qps), "monthly_calls": settings.get("monthly_calls", monthly)}


def spent(integration_id: str, platform: str, settings: dict) -> bool:
    """True once this month's ledger reached the edition's monthly budget (nothing more should go out)."""
    monthly = limits(platform, settings)["monthly_calls"]
    if not monthly:
        return False
    item = aws.table("ephemeral").get_item(Key=_key(integration_id, _month())).get("Item") or {}
    return int(item.get("calls", 0)) >= int(monthly)


def usage(integration: dict) -> dict:
    """What ``GET /integrations/{id}/quota`` shows: limits, this month's calls, the forecast."""
    month = _month()
    item = plain(aws.table("ephemeral").get_item(Key=_key(integration["id"], month)).get("Item") or {})
    used = int(item.get("calls", 0))
    by_api = {k.removeprefix("api:"): v for k, v in item.items() if k.startswith("api:")}
    limit = limits(integration["platform"], integration["settings"])
    return {"integration_id": integration["id"], "platform": integration["platform"], "month": month,
            **limit, "used": used, "by_api": by_api,
            "deferred": len(deliveries.in_state("deferred", integration["id"])),
            "parked": len(deliveries.in_state("parked", integration["id"])),
            "remaining": None if limit["monthly_calls"] is None else max(0, limit["monthly_calls"] - used),
            "forecast_exhaustion": _forecast(used, limit["monthly_calls"])}


def _forecast(used: int, monthly: int | None) -> str | None:
    """The day this month's budget runs out at the month's average pace so far, if it does."""
    if not monthly or not used:
        return None
    now = dt.datetime.fromtimestamp(clock.now(), dt.timezone.utc)
    elapsed_days = (now.day - 1) + now.hour / 24 + now.minute / 1440 or 1 / 1440
    days_to_empty = (monthly - min(used, monthly)) / (used / elapsed_days)
    days_in_month = calendar.monthrange(now.year, now.month)[1]
    if elapsed_days + days_to_empty > days_in_month:
        return None
    return (now + dt.timedelta(days=days_to_empty)).strftime("%Y-%m-%d")
