"""One record per (incident, integration, recipient): the card sent there and its state.

The record is created once (conditional put), so a redelivered SQS message can never send a
second card; a short lease keeps two workers from sending or updating the same card at once.
"""
from __future__ import annotations

from boto3.dynamodb.conditions import Attr, Key

from chalicelib import aws, clock
from chalicelib.errors import StorageConflict
from chalicelib.store.base import conditional, dynamo, plain, query_all, scan_all


def _table():
    return aws.table("deliveries")


def _key(incident_id: str, target_key: str) -> dict:
    return {"incident_id": incident_id, "target_key": target_key}


def ensure(item: dict) -> bool:
    """Create the record unless it exists; True when created now."""
    try:
        conditional(_table().put_item, f"delivery {item['target_key']}", Item=dynamo(item),
                    ConditionExpression=Attr("target_key").not_exists())
    except StorageConflict:
        return False
    return True


def get(incident_id: str, target_key: str) -> dict | None:
    item = _table().get_item(Key=_key(incident_id, target_key), ConsistentRead=True).get("Item")
    return plain(item) if item else None


def of(incident_id: str) -> list[dict]:
    return query_all(_table(), KeyConditionExpression=Key("incident_id").eq(incident_id),
                     ConsistentRead=True)


def lease(incident_id: str, target_key: str, seconds: int) -> bool:
    """Take the record's lease for ``seconds``; False while another worker holds it."""
    now = clock.now()
    try:
        conditional(_table().update_item, f"lease {target_key}", Key=_key(incident_id, target_key),
                    UpdateExpression="SET lease_until = :until",
                    ConditionExpression=Attr("target_key").exists() & (
                        Attr("lease_until").not_exists() | Attr("lease_until").lt(int(now))),
                    ExpressionAttributeValues={":until": int(now + seconds)})
    except StorageConflict:
        return False
    return True


def record(incident_id: str, target_key: str, release: bool = True, **fields) -> None:
    """Set ``fields`` (None removes one) and, unless told otherwise, release the lease."""
    sets = {k: v for k, v in fields.items() if v is not None}
    removes = (["lease_until"] if release else []) + [k for k, v in fields.items() if v is None]
    expression = ("SET " + ", ".join(f"#{k} = :{k}" for k in sets) + " ") if sets else ""
    expression += ("REMOVE " + ", ".join(f"#{k}" for k in removes)) if removes else ""
    kwargs = {"ExpressionAttributeNames": {f"#{k}": k for k in [*sets, *removes]}}
    if sets:
        kwargs["ExpressionAttributeValues"] = {f":{k}": v for k, v in dynamo(sets).items()}
    _table().update_item(Key=_key(incident_id, target_key), UpdateExpression=expression, **kwargs)


def remove(incident_id: str, target_key: str) -> None:
    _table().delete_item(Key=_key(incident_id, target_key))


def in_state(state: str, integration_id: str | None = None) -> list[dict]:
    """Deliveries in ``state`` (a scan: used by the monthly release and the quota view, not per card)."""
    condition = Attr("state").eq(state)
    if integration_id:
        condition = condition & Attr("integration_id").eq(integration_id)
    return scan_all(_table(), FilterExpression=condition)
