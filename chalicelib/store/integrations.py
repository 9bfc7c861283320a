"""Integrations: one self-built app of one platform, credentials sealed with KMS."""
from __future__ import annotations

from boto3.dynamodb.conditions import Attr

from chalicelib.common import aws
from chalicelib.common.ids import is_id
from chalicelib.store.base import conditional, dynamo, plain, scan_all


def _table():
    return aws.table("integrations")


def create(item: dict) -> None:
    conditional(_table().put_item, f"integration {item['id']}", Item=dynamo(item),
                ConditionExpression=Attr("id").not_exists())


def replace(item: dict) -> None:
    conditional(_table().put_item, f"integration {item['id']}", Item=dynamo(item),
                ConditionExpression=Attr("id").exists())


def get(integration_id: str) -> dict | None:
    if not is_id(integration_id):  # no such key can exist (and DynamoDB refuses oversized keys)
        return None
    item = _table().get_item(Key={"id": integration_id}).get("Item")
    return plain(item) if item else None


def all() -> list[dict]:
    return sorted(scan_all(_table()), key=lambda i: i["created_at"])


def delete(integration_id: str) -> None:
    _table().delete_item(Key={"id": integration_id})
