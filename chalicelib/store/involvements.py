"""Which incidents concern which member: they were notified of it (targeted) or acted on it.

One item per (member, incident), so "my incidents" is a query, never a scan of the incidents.
"""
from __future__ import annotations

from boto3.dynamodb.conditions import Key

from chalicelib.common import aws, clock
from chalicelib.store.base import query_all


def _table():
    return aws.table("involvements")


def note(member_id: str, incident_id: str, role: str) -> None:
    """Record that ``member_id`` is ``targeted`` by or ``acted`` on the incident (idempotent)."""
    _table().update_item(**_noting(member_id, incident_id, role))


def noting(member_id: str, incident_id: str, role: str) -> dict:
    """``note`` as one part of a transaction (the fan-out writes it with the member's first delivery record)."""
    return {"Update": {"TableName": _table().name, **_noting(member_id, incident_id, role)}}


def _noting(member_id: str, incident_id: str, role: str) -> dict:
    return {"Key": {"member_id": member_id, "incident_id": incident_id},
            "UpdateExpression": "ADD #roles :role SET #since = if_not_exists(#since, :now)",
            "ExpressionAttributeNames": {"#roles": "roles", "#since": "since"},
            "ExpressionAttributeValues": {":role": {role}, ":now": clock.iso()}}


def of(member_id: str) -> list[dict]:
    """Every incident the member is involved in: ``{"incident_id", "roles": set, "since"}``."""
    return query_all(_table(), KeyConditionExpression=Key("member_id").eq(member_id))
