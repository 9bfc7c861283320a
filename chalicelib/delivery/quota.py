"""Published limits per platform edition, and a monthly ledger of the calls the platform counts.

DingTalk counts every API call against the org's monthly budget except token, login and contact
calls (服务端API限流处理); the ledger counts what the adapters report. When the budget runs low,
non-critical cards are folded into digests (``digest``); when it is spent, cards are parked until
the month turns (``delivery``).
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.common import aws, clock
from chalicelib.common.ids import ID_PATTERN
from chalicelib.store import deliveries, ephemeral
from chalicelib.store.base import plain

# platform -> edition -> (requests per second per API, calls per month or None for unlimited)
EDITIONS: dict[str, dict[str, tuple[int, int | None]]] = {
    "dingtalk": {"standard": (20, 10_000), "professional": (40, 500_000), "exclusive": (60, 5_500_000)},
    "feishu": {"standard": (50, None), "free": (50, 10_000)},
    "wecom": {"standard": (None, None)},
}
LEDGER_DAYS = 40  # a month's ledger outlives the month so last month stays visible


class QuotaSettings(BaseModel):
    """The limit settings every platform's integration takes: its edition and overrides."""

    model_config = ConfigDict(extra="forbid")
    edition: str = "standard"
    qps: int | None = Field(default=None, gt=0)  # overrides the edition's per-API QPS
    monthly_calls: int | None = Field(default=None, gt=0)  # overrides the edition's monthly budget
    low_at: float = Field(default=0.9, gt=0, le=1)  # share of the budget from which non-critical cards are digested
    digest_minutes: int = Field(default=10, ge=1, le=15)  # one digest per receiver per interval (SQS delays ≤ 15 min)
    # member ids warned once a month when the budget runs low
    quota_admins: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(default=[], max_length=50)


@dataclass(frozen=True)
class Budget:
    """This month's calls against the monthly budget (None: the edition has no monthly limit)."""

    used: int
    monthly: int | None
    low_at: float

    @property
    def spent(self) -> bool:
        return self.monthly is not None and self.used >= self.monthly

    @property
    def low(self) -> bool:
        return self.monthly is not None and self.used >= self.low_at * self.monthly


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
    return {"edition": edition, "qps": settings.get("qps") or qps,
            "monthly_calls": settings.get("monthly_calls") or monthly}


def budget(integration_id: str, platform: str, settings: dict) -> Budget:
    """Where this month's ledger stands against the monthly budget (one read, none when unlimited)."""
    monthly = limits(platform, settings)["monthly_calls"]
    if not monthly:
        return Budget(0, None, _low_at(settings))
    item = aws.table("ephemeral").get_item(Key=_key(integration_id, _month())).get("Item") or {}
    return Budget(int(item.get("calls", 0)), int(monthly), _low_at(settings))


def first_warning(integration_id: str) -> bool:
    """True exactly once per integration and month: the caller warns the integration's admins."""
    return ephemeral.claim(f"quota-warned#{integration_id}#{_month()}", LEDGER_DAYS * 86400)


def usage(integration: dict) -> dict:
    """What ``GET /integrations/{id}/quota`` shows: limits, this month's calls, the forecast."""
    month = _month()
    item = plain(aws.table("ephemeral").get_item(Key=_key(integration["id"], month)).get("Item") or {})
    used = int(item.get("calls", 0))
    by_api = {k.removeprefix("api:"): v for k, v in item.items() if k.startswith("api:")}
    limit = limits(integration["platform"], integration["settings"])
    return {"integration_id": integration["id"], "platform": integration["platform"], "month": month,
            **limit, "used": used, "by_api": by_api,
            "low_at": _low_at(integration["settings"]),
            "digested": len(deliveries.in_state("digested", integration["id"])),
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


def _low_at(settings: dict) -> float:
    return float(settings.get("low_at") or QuotaSettings.model_fields["low_at"].default)
