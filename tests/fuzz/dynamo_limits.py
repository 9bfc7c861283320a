"""DynamoDB's key size limits, which moto does not enforce.

Real DynamoDB refuses a partition key over 2,048 bytes and a sort key over 1,024 bytes (of a table
or of an index the item lands in) with a ValidationException; moto accepts them, which hid the 500s
an oversized id caused. ``enforce`` makes every DynamoDB call in a test check them first.
"""
from __future__ import annotations

import re

import botocore.client
from botocore.exceptions import ClientError

from chalicelib.common import schema

HASH_LIMIT, RANGE_LIMIT = 2048, 1024


def _limits(table: schema.Table) -> dict[str, int]:
    keys = [(table.hash_key, HASH_LIMIT), (table.range_key, RANGE_LIMIT)]
    keys += [pair for index in table.indexes for pair in ((index.hash_key, HASH_LIMIT), (index.range_key, RANGE_LIMIT))]
    limits: dict[str, int] = {}
    for name, limit in keys:
        if name:
            limits[name] = min(limit, limits.get(name, limit))
    return limits


LIMITS = {table.logical: _limits(table) for table in schema.TABLES}


def _size(value: object) -> int:
    """The size of a key value, typed ({"S": ...}, as clients send it) or plain (as the resources do)."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("S", "N", "B"):
        value = next(iter(value.values()))
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    return len(value) if isinstance(value, (bytes, bytearray)) else len(str(value))


def _refuse(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ValidationException", "Message": (
        "One or more parameter values were invalid: Size of a key attribute has exceeded the maximum size limit")}},
        operation)


def _table_limits(name: str) -> dict[str, int]:
    for logical, limits in LIMITS.items():
        if name.endswith(f"-{logical}"):
            return limits
    return {}


def check(operation: str, params: dict) -> None:
    """Raise DynamoDB's ValidationException where a real table would."""
    limits = _table_limits(params.get("TableName", ""))
    for part in ("Key", "Item"):
        for name, value in (params.get(part) or {}).items():
            if name in limits and _size(value) > limits[name]:
                raise _refuse(operation)
    if operation == "Query":
        condition = params.get("KeyConditionExpression", "")
        values = params.get("ExpressionAttributeValues", {})
        if not isinstance(condition, str):  # a boto3 condition object: its values are in the expression
            values = {f":{n}": v for n, v in enumerate(_condition_values(condition))}
            condition = " ".join(values)
        for placeholder in re.findall(r":\w+", condition):
            if placeholder in values and _size(values[placeholder]) > HASH_LIMIT:
                raise _refuse(operation)
    for table, request in (params.get("RequestItems") or {}).items():
        for key in request.get("Keys", []):
            check("BatchGetItem", {"TableName": table, "Key": key})


def _condition_values(condition) -> list:
    values = []
    for part in condition.get_expression()["values"]:
        values += _condition_values(part) if hasattr(part, "get_expression") else [part]
    return [v for v in values if not hasattr(v, "name")]  # attribute names are no values


def enforce(monkeypatch) -> None:
    real = botocore.client.BaseClient._make_api_call

    def checked(client, operation: str, params: dict):
        if client.meta.service_model.service_name == "dynamodb":
            check(operation, params)
        return real(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", checked)
