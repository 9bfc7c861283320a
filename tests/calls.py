"""Count the AWS calls a piece of work makes, to pin down how much work a notification or a click costs."""
from __future__ import annotations

import contextlib
from collections import Counter
from typing import Iterator

from botocore.client import BaseClient

from chalicelib.common.config import settings


@contextlib.contextmanager
def counted(monkeypatch) -> Iterator[Counter]:
    """Every botocore call made inside the block, as ``"<Operation> <logical table>"`` (DynamoDB) or
    ``"<Operation>"`` (anything else) with how often it was made. Clients and table resources alike."""
    calls: Counter = Counter()
    real = BaseClient._make_api_call
    prefix = settings().name("")

    def counting(client, operation: str, params: dict):
        table = params.get("TableName", "")
        calls[f"{operation} {table.removeprefix(prefix)}" if table else operation] += 1
        return real(client, operation, params)

    with monkeypatch.context() as patched:
        patched.setattr(BaseClient, "_make_api_call", counting)
        yield calls


def reads(calls: Counter, table: str) -> int:
    """GetItem, Query and Scan calls on one table."""
    return sum(calls[f"{operation} {table}"] for operation in ("GetItem", "Query", "Scan"))


def dynamo_total(calls: Counter) -> int:
    return sum(n for name, n in calls.items() if " " in name)
