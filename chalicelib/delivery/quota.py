"""The monthly budget: the platform's published limits against the ledger of the calls it counts.

DingTalk counts every API call against the org's monthly budget except token, login and contact
calls (服务端API限流处理); the ledger counts what the adapters report. When the budget runs low,
non-critical cards are folded into digests (``digest``); when it is spent, cards are parked until
the month turns (``delivery``).
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from chalicelib.common import clock
from chalicelib.platforms import adapter_class
from chalicelib.platforms.base import CommonSettings
from chalicelib.store import deliveries, ephemeral, ledger


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


def budget(integration_id: str, platform: str, settings: dict) -> Budget:
    """Where this month's ledger stands against the monthly budget, as this container last saw it (the count
    itself refuses a call over budget, exactly). No read when unlimited."""
    monthly = adapter_class(platform).limits(settings)["monthly_calls"]
    if not monthly:
        return Budget(0, None, _low_at(settings))
    return Budget(ledger.calls(integration_id), int(monthly), _low_at(settings))


def first_warning(integration_id: str) -> bool:
    """True exactly once per integration and month: the caller warns the integration's admins."""
    return ephemeral.claim(f"quota-warned#{integration_id}#{ledger.month()}", ledger.KEEP_DAYS * 86400)


def usage(integration: dict) -> dict:
    """What ``GET /integrations/{id}/quota`` shows: limits, this month's calls, the forecast."""
    month = ledger.month()
    item = ledger.get(integration["id"], month)
    used = int(item.get("calls", 0))
    by_api = {k.removeprefix("api:"): v for k, v in item.items() if k.startswith("api:")}
    limit = adapter_class(integration["platform"]).limits(integration["settings"])
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
    return float(settings.get("low_at") or CommonSettings.model_fields["low_at"].default)
