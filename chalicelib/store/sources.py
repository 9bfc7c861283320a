"""Sources: where Alertmanager, Grafana and webhooks push; the push key is kept only as its hash."""
from __future__ import annotations

from boto3.dynamodb.conditions import Attr

from chalicelib.common import aws
from chalicelib.common.ids import is_id
from chalicelib.store.base import conditional, dynamo, plain, scan_all


def _table():
    return aws.table("sources")


def create(item: dict) -> None:
    conditional(_table().put_item, f"source {item['id']}", Item=dynamo(item),
                ConditionExpression=Attr("id").not_exists())


def replace(item: dict) -> None:
    conditional(_table().put_item, f"source {item['id']}", Item=dynamo(item),
                ConditionExpression=Attr("id").exists())


def get(source_id: str) -> dict | None:
    if not is_id(source_id):
        return None
    item = _table().get_item(Key={"id": source_id}).get("Item")
    return plain(item) if item else None


def all() -> list[dict]:
    return sorted(scan_all(_table()), key=lambda s: s["created_at"])


def delete(source_id: str) -> None:
    _table().delete_item(Key={"id": source_id})
