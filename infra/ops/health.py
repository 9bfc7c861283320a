"""``health [INTEGRATION_ID]``: one integration's health report in full, or every integration in a table.

The reports come from chalicelib.flows.health (``report(integration_id)``, the health route's body, and
``summaries()``, integration id → summary) when this build has it; the quota (delivery.quota.usage, as
``GET /integrations/{id}/quota``) is shown either way.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from rich.console import Console
from rich.table import Table

from chalicelib.common.errors import NotFound
from chalicelib.delivery import quota
from chalicelib.flows import integrations
from chalicelib.store import integrations as stored

HEALTH = "chalicelib.flows.health"
NOT_HERE = "(no health module in this build)"


def _health() -> ModuleType | None:
    try:
        return importlib.import_module(HEALTH)
    except ModuleNotFoundError as exc:
        if exc.name != HEALTH:
            raise
        return None


def _summary(summary: dict | None) -> str:
    return ", ".join(f"{k}: {v}" for k, v in (summary or {}).items() if isinstance(v, (str, int, float, bool)))


def _budget(usage: dict) -> str:
    return f"{usage['used']} / {usage['monthly_calls'] if usage['monthly_calls'] is not None else 'unlimited'}"


def show(console: Console, integration_id: str | None) -> int:
    health = _health()
    if integration_id:
        try:
            item = integrations.get(integration_id)
        except NotFound as exc:
            console.print(f"[red]{exc.message}[/red]")
            return 1
        report = health.report(integration_id) if health else {"health": NOT_HERE}
        console.print_json(data={**report, "quota": quota.usage(item)}, default=str)
        return 0
    summaries = health.summaries() if health else {}
    table = Table("integration", "platform", "name", "calls this month", "health", title="integrations")
    for item in sorted(stored.all(), key=lambda i: i["id"]):
        table.add_row(item["id"], item["platform"], item["name"], _budget(quota.usage(item)),
                      _summary(summaries.get(item["id"])) if health else NOT_HERE)
    console.print(table)
    return 0
