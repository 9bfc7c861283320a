"""``members link INTEGRATION_ID|--all``: one-click linking by mobile (the admin route's flow) in bulk."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from chalicelib.common import aws
from chalicelib.common.errors import AppError
from chalicelib.flows import linking
from chalicelib.platforms import adapter_class
from chalicelib.store import integrations
from infra.ops.progress import bar


def people_reaching() -> list[str]:
    """Every integration that can page a person (a group robot reaches only its own group)."""
    return sorted(item["id"] for item in integrations.all() if adapter_class(item["platform"]).reaches_people)


def link(console: Console, integration_id: str | None) -> int:
    """Link on ``integration_id``, or on every integration reaching people when None; 1 when one failed."""
    targets = [integration_id] if integration_id else people_reaching()
    table = Table("integration", "linked", "already", "not found", "skipped", "error", title="linking by mobile")
    failed = 0
    with bar(console) as progress:
        task = progress.add_task("linking members", total=len(targets))
        for target in targets:
            try:
                done = linking.link_members(target)
                table.add_row(target, str(done["linked"]), str(done["already"]), ", ".join(done["not_found"]),
                              ", ".join(done.get("skipped", [])), "")
            except (AppError, *aws.UNREACHABLE) as exc:
                failed += 1
                table.add_row(target, "", "", "", "", getattr(exc, "message", type(exc).__name__))
            progress.advance(task)
    console.print(table)
    console.print(f"{len(targets) - failed} of {len(targets)} integration(s) linked")
    return 1 if failed else 0
