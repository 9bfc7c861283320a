"""Incidents with their timeline; every change is a compare-and-set on ``version``."""
from __future__ import annotations

from boto3.dynamodb.conditions import Attr

from chalicelib import aws
from chalicelib.store.base import conditional, dynamo, plain


def _table():
    return aws.table("incidents")


def get(incident_id: str) -> dict | None:
    item = _table().get_item(Key={"id": incident_id}, ConsistentRead=True).get("Item")
    return plain(item) if item else None


def create(item: dict) -> None:
    conditional(_table().put_item, f"incident {item['id']}", Item=dynamo(item),
                ConditionExpression=Attr("id").not_exists())


def save(item: dict, expected_version: int) -> None:
    """Write ``item`` only if nobody saved since we read version ``expected_version``."""
    conditional(_table().put_item, f"incident {item['id']}", Item=dynamo(item),
                ConditionExpression=Attr("version").eq(expected_version))
