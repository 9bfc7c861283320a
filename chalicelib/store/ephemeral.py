"""Short-lived items with a TTL: tokens, dedupe marks, one-time OAuth state, locks.

DynamoDB deletes expired items lazily (up to days later), so every read and every condition
treats ``expires_at <= now`` as absent.
"""
from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.common import aws, clock
from chalicelib.common.errors import StorageConflict
from chalicelib.store.base import conditional, dynamo, plain


def _table():
    return aws.table("ephemeral")


def get(key: str) -> dict | None:
    item = _table().get_item(Key={"key": key}, ConsistentRead=True).get("Item")
    if not item or item["expires_at"] <= clock.now():
        return None
    return plain(item)


def put(key: str, ttl: float, **fields: Any) -> None:
    _table().put_item(Item=dynamo({"key": key, "expires_at": int(clock.now() + ttl), **fields}))


def claim(key: str, ttl: float, **fields: Any) -> bool:
    """Create ``key`` unless a live one exists; True when this caller got it (dedupe, locks)."""
    now = int(clock.now())
    try:
        conditional(_table().put_item, f"claim {key}",
                    Item=dynamo({"key": key, "expires_at": now + int(ttl), **fields}),
                    ConditionExpression=Attr("key").not_exists() | Attr("expires_at").lte(now))
    except StorageConflict:
        return False
    return True


def take(key: str) -> dict | None:
    """Delete and return a live item exactly once (one-time state, auth codes)."""
    try:
        old = conditional(_table().delete_item, f"take {key}", Key={"key": key},
                          ConditionExpression=Attr("expires_at").gt(int(clock.now())),
                          ReturnValues="ALL_OLD")
    except StorageConflict:
        return None
    return plain(old.get("Attributes"))


def delete(key: str, **expected: Any) -> None:
    """Delete ``key``, only while its fields still hold ``expected`` (never someone else's newer value)."""
    condition = None
    for name, value in expected.items():
        clause = Attr(name).eq(value)
        condition = clause if condition is None else condition & clause
    try:
        conditional(_table().delete_item, f"delete {key}", Key={"key": key},
                    **({"ConditionExpression": condition} if condition is not None else {}))
    except StorageConflict:
        pass


def add_to_set(key: str, ttl: float, value: str) -> bool:
    """Add ``value`` to the set held at ``key``; True when this made the set (the first value)."""
    old = _table().update_item(
        Key={"key": key}, UpdateExpression="ADD #values :value SET expires_at = if_not_exists(expires_at, :ttl)",
        ExpressionAttributeNames={"#values": "values"},
        ExpressionAttributeValues={":value": {value}, ":ttl": int(clock.now() + ttl)}, ReturnValues="UPDATED_OLD")
    return not old.get("Attributes", {}).get("values")
