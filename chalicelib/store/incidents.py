"""Incidents with their timeline; every change is a compare-and-set on ``version``."""
from __future__ import annotations

from boto3.dynamodb.conditions import Attr

from chalicelib.common import aws
from chalicelib.common.ids import is_id
from chalicelib.store.base import conditional, dynamo, plain

_BATCH_ATTEMPTS = 4


def _table():
    return aws.table("incidents")


def get(incident_id: str) -> dict | None:
    if not is_id(incident_id):  # no such key can exist (and DynamoDB refuses oversized keys)
        return None
    item = _table().get_item(Key={"id": incident_id}, ConsistentRead=True).get("Item")
    return plain(item) if item else None


def create(item: dict) -> None:
    """Store a new incident; StorageConflict (whose ``current`` is the stored one) when it exists."""
    conditional(_table().put_item, f"incident {item['id']}", Item=dynamo(item),
                ConditionExpression=Attr("id").not_exists(), ReturnValuesOnConditionCheckFailure="ALL_OLD")


def save(item: dict, expected_version: int) -> None:
    """Write ``item`` only if nobody saved since we read version ``expected_version``."""
    conditional(_table().put_item, f"incident {item['id']}", Item=dynamo(item),
                ConditionExpression=Attr("version").eq(expected_version))


def set_image(read: dict, integration_id: str, upload: dict) -> None:
    """Set ``images[integration_id]`` alone (the other integrations' uploads and every other field stay as
    stored) and move ``version`` on, only if nobody saved since ``read`` was read; raises StorageConflict."""
    incident_id, expected_version = read["id"], read["version"]
    names = {"#images": "images", "#integration": integration_id}
    values = {":next": expected_version + 1}
    if "images" in read:
        expression, values[":upload"] = "SET #images.#integration = :upload", dynamo(upload)
    else:
        expression, values[":images"] = "SET #images = :images", dynamo({integration_id: upload})
        del names["#integration"]
    conditional(_table().update_item, f"incident {incident_id}", Key={"id": incident_id},
                UpdateExpression=f"{expression}, version = :next", ExpressionAttributeNames=names,
                ExpressionAttributeValues=values, ConditionExpression=Attr("version").eq(expected_version))


def many(incident_ids: list[str]) -> list[dict]:
    """The incidents that exist among ``incident_ids``, in no particular order (100 per request).

    Keys DynamoDB leaves unprocessed (throttling) are asked again a few times, then left out:
    a list page would rather show fewer rows than hang.
    """
    table, found = _table(), []
    for start in range(0, len(incident_ids), 100):
        request = {table.name: {"Keys": [{"id": i} for i in incident_ids[start:start + 100]]}}
        for _ in range(_BATCH_ATTEMPTS):
            answer = table.meta.client.batch_get_item(RequestItems=request)
            found += answer["Responses"].get(table.name, [])
            request = answer.get("UnprocessedKeys")
            if not request:
                break
    return [plain(item) for item in found]
