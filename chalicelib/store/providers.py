"""Operator-level setups (the WeCom suite) and the grants organisations gave them."""
from __future__ import annotations

from chalicelib.common import aws
from chalicelib.store.base import dynamo, plain


def _table():
    return aws.table("providers")


def get(provider_id: str) -> dict | None:
    item = _table().get_item(Key={"id": provider_id}, ConsistentRead=True).get("Item")
    return plain(item) if item else None


def put(item: dict) -> None:
    _table().put_item(Item=dynamo(item))


def delete(provider_id: str) -> None:
    _table().delete_item(Key={"id": provider_id})
