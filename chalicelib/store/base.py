"""Helpers shared by the repositories: number conversion and conditional writes."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from chalicelib.common.errors import StorageConflict


def plain(value: Any) -> Any:
    """DynamoDB hands numbers back as Decimal; turn them into int or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def dynamo(value: Any) -> Any:
    """Floats must travel as Decimal; empty strings in maps are fine, None values are dropped."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [dynamo(v) for v in value]
    return value


def conditional(call, what: str, **kwargs: Any) -> dict:
    """Run a conditional write; a failed condition becomes StorageConflict naming ``what``. With
    ``ReturnValuesOnConditionCheckFailure="ALL_OLD"`` its ``current`` is the item as stored (None when
    there is none), so the caller needs no read to learn why."""
    try:
        return call(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            conflict = StorageConflict(f"{what}: someone else changed it first")
            conflict.current = wire_item(exc.response["Item"]) if exc.response.get("Item") else None
            raise conflict from exc
        raise


_DESERIALIZE = TypeDeserializer()


def wire_item(item: dict) -> dict:
    """An item as DynamoDB's wire format gives it (e.g. in an error's answer), as plain values."""
    return plain({name: _DESERIALIZE.deserialize(value) for name, value in item.items()})


def _all_pages(read, **kwargs: Any) -> list[dict]:
    items, start = [], None
    while True:
        page = read(**kwargs, **({"ExclusiveStartKey": start} if start else {}))
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return [plain(i) for i in items]


def scan_all(table, **kwargs: Any) -> list[dict]:
    return _all_pages(table.scan, **kwargs)


def query_all(table, **kwargs: Any) -> list[dict]:
    return _all_pages(table.query, **kwargs)
