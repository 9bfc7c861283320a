"""Which incident follows a source's alert group now, and how many incidents the group has had."""
from __future__ import annotations

from boto3.dynamodb.conditions import Attr

from chalicelib.common import aws
from chalicelib.common.errors import StorageConflict
from chalicelib.store.base import conditional, plain, query_all, scan_all


def _table():
    return aws.table("alert_groups")


def get(source_id: str, group_id: str) -> dict | None:
    item = _table().get_item(Key={"source_id": source_id, "group_id": group_id}, ConsistentRead=True).get("Item")
    return plain(item) if item else None


def advance(source_id: str, group_id: str, incident_id: str, generation: int) -> None:
    """Point the group at its ``generation``-th incident, unless a racing push already moved it that far."""
    try:
        conditional(_table().put_item, f"alert group {group_id}",
                    Item={"source_id": source_id, "group_id": group_id, "incident_id": incident_id,
                          "generation": generation},
                    ConditionExpression=Attr("generation").not_exists() | Attr("generation").lt(generation))
    except StorageConflict:
        pass  # the same or a later incident is already recorded


def remove_source(source_id: str) -> None:
    """Forget a deleted source's groups (their incidents stay)."""
    table = _table()
    keys = query_all(table, KeyConditionExpression="source_id = :s", ExpressionAttributeValues={":s": source_id},
                     ProjectionExpression="source_id, group_id")
    with table.batch_writer() as batch:
        for item in keys:
            batch.delete_item(Key={"source_id": item["source_id"], "group_id": item["group_id"]})


def watch(source_id: str, group_id: str, until: str) -> None:
    """Mark the group as silenced at its source until ``until``: its resolution will not be pushed."""
    _table().update_item(Key={"source_id": source_id, "group_id": group_id},
                         UpdateExpression="SET silenced_until = :until", ExpressionAttributeValues={":until": until},
                         ConditionExpression=Attr("source_id").exists())


def unwatch(source_id: str, group_id: str) -> None:
    _table().update_item(Key={"source_id": source_id, "group_id": group_id}, UpdateExpression="REMOVE silenced_until")


def watched() -> list[dict]:
    """The groups silenced at their source, whose end must be asked for rather than waited for."""
    return scan_all(_table(), FilterExpression=Attr("silenced_until").exists())
