"""Integrations: one self-built app of one platform, credentials sealed with KMS.

Every integration is listed under one key of an index (``by_listing``), so the fan-out finds them all
with a query, never a scan. A warm container keeps what it read for CACHE_SECONDS: a change made
through another container's admin API reaches every sender within that time (through this one's, at
once).
"""
from __future__ import annotations

import copy

from boto3.dynamodb.conditions import Attr, Key

from chalicelib.common import aws, warm
from chalicelib.common.ids import is_id
from chalicelib.store.base import conditional, dynamo, plain, query_all

CACHE_SECONDS = 10
LISTING, LISTED = "by_listing", "integrations"  # the index and the one key every integration is listed under
_SPACE, _ALL = "integration", "*"


def _table():
    return aws.table("integrations")


def _listed(item: dict) -> dict:
    return dynamo({**item, "listing": LISTED})


def create(item: dict) -> None:
    try:
        conditional(_table().put_item, f"integration {item['id']}", Item=_listed(item),
                    ConditionExpression=Attr("id").not_exists())
    finally:
        _forget(item["id"])


def replace(item: dict) -> None:
    try:
        conditional(_table().put_item, f"integration {item['id']}", Item=_listed(item),
                    ConditionExpression=Attr("id").exists())
    finally:
        _forget(item["id"])


def get(integration_id: str) -> dict | None:
    if not is_id(integration_id):  # no such key can exist (and DynamoDB refuses oversized keys)
        return None
    return copy.deepcopy(warm.read(_SPACE, integration_id, CACHE_SECONDS, lambda: _load(integration_id)))


def _load(integration_id: str) -> dict | None:
    item = _table().get_item(Key={"id": integration_id}).get("Item")
    return _plain(item) if item else None


def all() -> list[dict]:
    """Every integration, oldest first."""
    return copy.deepcopy(warm.read(_SPACE, _ALL, CACHE_SECONDS, _load_all))


def _load_all() -> list[dict]:
    found = query_all(_table(), IndexName=LISTING, KeyConditionExpression=Key("listing").eq(LISTED))
    return sorted((_plain(item) for item in found), key=lambda i: i["created_at"])


def delete(integration_id: str) -> None:
    try:
        _table().delete_item(Key={"id": integration_id})
    finally:
        _forget(integration_id)


def _plain(item: dict) -> dict:
    return {k: v for k, v in plain(item).items() if k != "listing"}


def _forget(integration_id: str) -> None:
    warm.forget(_SPACE, integration_id)
    warm.forget(_SPACE, _ALL)
