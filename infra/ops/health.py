"""``health [INTEGRATION_ID]``: one integration's health report in full (``GET /integrations/{id}/health``
with its quota), or every integration in a table with the summary the schedule last stored and the month's
calls.
"""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from chalicelib.common.errors import NotFound
from chalicelib.delivery import quota
from chalicelib.flows import health, integrations
from chalicelib.store import integrations as stored

STATE_STYLE = {"ok": "green", "warning": "yellow", "failing": "red"}


def _budget(usage: dict) -> str:
    return f"{usage['used']} / {usage['monthly_calls'] if usage['monthly_calls'] is not None else 'unlimited'}"


def show(console: Console, integration_id: str | None) -> int:
    if integration_id:
        try:
            item = integrations.get(integration_id)
        except NotFound as exc:
            console.print(f"[red]{exc.message}[/red]")
            return 1
        console.print_json(data={**health.report(integration_id), "quota": quota.usage(item)}, default=str)
        return 0
    summaries = health.summaries()
    table = Table("integration", "platform", "name", "calls this month", "health", "checked", "problems",
                  title="integrations")
    for item in sorted(stored.all(), key=lambda i: i["id"]):
        summary = summaries.get(item["id"]) or {}
        state = summary.get("state", "unknown")
        table.add_row(item["id"], item["platform"], item["name"], _budget(quota.usage(item)),
                      f"[{STATE_STYLE.get(state, 'dim')}]{state}[/]", summary.get("checked_at") or "-",
                      "\n".join(summary.get("problems") or []))
    console.print(table)
    return 0
