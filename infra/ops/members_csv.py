"""``members import FILE.csv``: members created from a spreadsheet through the same flow as ``POST /members``.

The header names MemberIn's fields (``id,name,email,mobile``; order free, ``id`` and ``name`` required). Each
row is one conditional write, so a row is stored whole or not at all; the bad rows are listed with their
line number and why (an invalid field, an id that exists already, an id given twice in the file).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from chalicelib.common.errors import AlreadyExists, AppError, readable
from chalicelib.core.models import MemberIn
from chalicelib.flows import members
from infra.ops.progress import bar

REQUIRED = ("id", "name")


@dataclass(frozen=True)
class Row:
    line: int  # where the row starts in the file (the header is line 1)
    cells: list[str]


@dataclass(frozen=True)
class Bad:
    line: int
    member_id: str
    reason: str


def rows(path: Path) -> tuple[list[str], list[Row]]:
    """The header and the data rows with their line numbers (a quoted cell may span lines)."""
    with path.open(encoding="utf-8-sig", newline="") as file:  # utf-8-sig: Excel's BOM is not a column name
        reader = csv.reader(file)
        header = [name.strip() for name in next(reader, [])]
        found, start = [], reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                found.append(Row(start, cells))
            start = reader.line_num + 1
    return header, found


def header_problem(header: list[str]) -> str | None:
    unknown = [name for name in header if name not in MemberIn.model_fields]
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        return (f"the header must name {', '.join(MemberIn.model_fields)} (id and name required, each once); "
                f"unknown: {', '.join(unknown) or '-'}, missing: {', '.join(missing) or '-'}")
    return None


def create(header: list[str], row: Row, first_line: dict[str, int]) -> Bad | None:
    """Store one row's member; what was wrong with it, or None when it was created."""
    if len(row.cells) > len(header):
        return Bad(row.line, "", f"{len(row.cells)} cells, the header has {len(header)} columns")
    given = {name: value.strip() for name, value in zip(header, row.cells, strict=False) if value.strip()}
    member_id = given.get("id", "")
    try:
        member = MemberIn.model_validate(given)
    except ValidationError as exc:
        return Bad(row.line, member_id, readable(exc))
    if member.id in first_line:
        return Bad(row.line, member_id, f"duplicate id: line {first_line[member.id]} has it already")
    first_line[member.id] = row.line
    try:
        members.create(member)
    except AlreadyExists:
        return Bad(row.line, member_id, "exists: a member with this id is stored already (409)")
    except AppError as exc:
        return Bad(row.line, member_id, exc.message)
    return None


def load(console: Console, path: Path) -> int:
    try:
        header, found = rows(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        console.print(f"[red]cannot read {path}[/red]: {exc}")
        return 2
    if problem := header_problem(header):
        console.print(f"[red]{path}[/red]: {problem}")
        return 2
    bad, first_line = [], {}
    with bar(console) as progress:
        task = progress.add_task("importing members", total=len(found))
        for row in found:
            if refused := create(header, row, first_line):
                bad.append(refused)
            progress.advance(task)
    console.print(f"{len(found) - len(bad)} of {len(found)} member(s) imported, {len(bad)} bad row(s)")
    if bad:
        table = Table("line", "id", "why not", title="bad rows (nothing stored for them)")
        for refused in bad:
            table.add_row(str(refused.line), refused.member_id, refused.reason)
        console.print(table)
    return 1 if bad else 0
