"""Group chats the app is in, kept from install / bot-added / rename events."""
from __future__ import annotations

from boto3.dynamodb.conditions import Key

from chalicelib.common import aws
from chalicelib.store.base import dynamo, plain, query_all


def _table():
    return aws.table("chats")


def upsert(integration_id: str, chat_id: str, **fields) -> None:
    names = {f"#{k}": k for k in fields}
    values = {f":{k}": v for k, v in dynamo(fields).items()}
    _table().update_item(
        Key={"integration_id": integration_id, "chat_id": chat_id},
        UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in fields),
        ExpressionAttributeNames=names, ExpressionAttributeValues=values)


def get(integration_id: str, chat_id: str) -> dict | None:
    item = _table().get_item(Key={"integration_id": integration_id, "chat_id": chat_id}).get("Item")
    return plain(item) if item else None


def of(integration_id: str) -> list[dict]:
    return query_all(_table(), KeyConditionExpression=Key("integration_id").eq(integration_id))
