"""One record per (incident, integration, recipient): the card sent there and its state.

The record is created once (conditional put), so a redelivered SQS message can never send a
second card; a short lease keeps two workers from sending or updating the same card at once.

A record whose job should be in the deliveries queue (pending or deferred) carries the time from
which it counts as lost (``stale_after``): when it was due plus LOST_AFTER. A sparse index, split
over a few shards so that a storm's writes do not all land on one partition, lets the sweep find
those without scanning the table; every other state removes the mark.
"""
from __future__ import annotations

import contextlib
import contextvars
import copy
import hashlib
from typing import Iterator

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from chalicelib.common import aws, clock
from chalicelib.common.errors import StorageConflict
from chalicelib.store.base import conditional, dynamo, plain, query_all, scan_all

WAITING = ("pending", "deferred")  # states whose job should be waiting in the deliveries queue
LOST_AFTER = 300  # a waiting job this long past due was never queued (a crash between record and send)
STALE_INDEX, STALE_SHARDS = "by_stale", 8
_first_reads: contextvars.ContextVar[dict[str, list[dict]] | None] = contextvars.ContextVar("first_reads",
                                                                                           default=None)


def _table():
    return aws.table("deliveries")


def _key(incident_id: str, target_key: str) -> dict:
    return {"incident_id": incident_id, "target_key": target_key}


def _stale_marks(incident_id: str, target_key: str, expected_wait: float) -> dict:
    shard = int(hashlib.sha1(f"{incident_id}#{target_key}".encode()).hexdigest()[:8], 16) % STALE_SHARDS
    return {"stale_shard": str(shard), "stale_after": clock.iso(clock.now() + expected_wait + LOST_AFTER)}


def ensure(item: dict, along: dict | None = None) -> bool:
    """Create the record unless it exists; True when created now. ``along``: a transaction part written
    with it, only if it is created."""
    if item["state"] in WAITING:
        item = {**item, **_stale_marks(item["incident_id"], item["target_key"], 0)}
    if along is None:
        try:
            conditional(_table().put_item, f"delivery {item['target_key']}", Item=dynamo(item),
                        ConditionExpression=Attr("target_key").not_exists())
        except StorageConflict:
            return False
        return True
    table = _table()
    try:
        table.meta.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": table.name, "Item": dynamo(item), "ExpressionAttributeNames": {"#key": "target_key"},
                     "ConditionExpression": "attribute_not_exists(#key)"}}, along])
    except ClientError as exc:
        reasons = exc.response.get("CancellationReasons") or [{}]
        if reasons[0].get("Code") == "ConditionalCheckFailed":
            return False
        raise
    return True


def get(incident_id: str, target_key: str) -> dict | None:
    item = _table().get_item(Key=_key(incident_id, target_key), ConsistentRead=True).get("Item")
    return plain(item) if item else None


def of(incident_id: str) -> list[dict]:
    """The incident's records (inside ``read_once``: as its first read found them)."""
    memo = _first_reads.get()
    if memo is not None and incident_id in memo:
        return copy.deepcopy(memo[incident_id])
    found = query_all(_table(), KeyConditionExpression=Key("incident_id").eq(incident_id), ConsistentRead=True)
    if memo is not None:
        memo[incident_id] = copy.deepcopy(found)
    return found


@contextlib.contextmanager
def read_once() -> Iterator[None]:
    """Within it, each incident's records are read once: a click's recipient check, its spread and its settle
    job look up the same records by their keys and refs, which the click's own writes do not change."""
    token = _first_reads.set({})
    try:
        yield
    finally:
        _first_reads.reset(token)


def take(incident_id: str, target_key: str, seconds: int) -> tuple[dict | None, bool]:
    """Read the record and take its lease for ``seconds`` in one write: (record, True); (record, False)
    while another worker holds the lease; (None, False) when there is no record."""
    now = clock.now()
    try:
        answer = conditional(_table().update_item, f"lease {target_key}", Key=_key(incident_id, target_key),
                             UpdateExpression="SET lease_until = :until",
                             ConditionExpression=Attr("target_key").exists() & (
                                 Attr("lease_until").not_exists() | Attr("lease_until").lt(int(now))),
                             ExpressionAttributeValues={":until": int(now + seconds)},
                             ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    except StorageConflict as conflict:
        return conflict.current, False
    return plain(answer["Attributes"]), True


def release(incident_id: str, target_key: str) -> None:
    """Give the lease back without changing anything else."""
    _table().update_item(Key=_key(incident_id, target_key), UpdateExpression="REMOVE lease_until")


def record(incident_id: str, target_key: str, release: bool = True, expected_wait: float = 0, **fields) -> None:
    """Set ``fields`` (None removes one) and, unless told otherwise, release the lease. A new ``state``
    that waits for a queued job is marked stale from ``expected_wait`` + LOST_AFTER seconds on."""
    _table().update_item(**_changes(incident_id, target_key, release, expected_wait, fields))


def record_if_unchanged(incident_id: str, target_key: str, incident_version: int, **fields) -> bool:
    """``record`` (releasing the lease), in one transaction with a check that the incident is still at
    ``incident_version``; False, nothing written, when it moved on (or a concurrent write got in the way)."""
    table = _table()
    check = {"TableName": aws.table("incidents").name, "Key": {"id": incident_id},
             "ConditionExpression": "#version = :version", "ExpressionAttributeNames": {"#version": "version"},
             "ExpressionAttributeValues": {":version": incident_version}}
    try:
        table.meta.client.transact_write_items(TransactItems=[
            {"Update": {"TableName": table.name, **_changes(incident_id, target_key, True, 0, fields)}},
            {"ConditionCheck": check}])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        return False
    return True


def _changes(incident_id: str, target_key: str, release: bool, expected_wait: float, fields: dict) -> dict:
    if "state" in fields:
        marks = _stale_marks(incident_id, target_key, expected_wait)
        fields = {**fields, **(marks if fields["state"] in WAITING else dict.fromkeys(marks))}
    sets = {k: v for k, v in fields.items() if v is not None}
    removes = (["lease_until"] if release else []) + [k for k, v in fields.items() if v is None]
    expression = ("SET " + ", ".join(f"#{k} = :{k}" for k in sets) + " ") if sets else ""
    expression += ("REMOVE " + ", ".join(f"#{k}" for k in removes)) if removes else ""
    changes = {"Key": _key(incident_id, target_key), "UpdateExpression": expression,
               "ExpressionAttributeNames": {f"#{k}": k for k in [*sets, *removes]}}
    if sets:
        changes["ExpressionAttributeValues"] = {f":{k}": v for k, v in dynamo(sets).items()}
    return changes


def merge_ref(incident_id: str, target_key: str, fields: dict) -> None:
    """Set some entries of the record's ``ref`` (leaving the others as a concurrent worker wrote them)."""
    names = {"#ref": "ref", **{f"#r{n}": k for n, k in enumerate(fields)}}
    values = {f":r{n}": v for n, v in enumerate(dynamo(list(fields.values())))}
    _table().update_item(Key=_key(incident_id, target_key), ExpressionAttributeNames=names,
                         UpdateExpression="SET " + ", ".join(f"#ref.#r{n} = :r{n}" for n in range(len(fields))),
                         ExpressionAttributeValues=values)


def stale(limit: int) -> list[dict]:
    """Up to ``limit`` waiting records whose mark says they are lost by now (an index query per shard)."""
    now, found = clock.iso(), []
    for shard in range(STALE_SHARDS):
        page = _table().query(IndexName=STALE_INDEX, Limit=limit - len(found),
                              KeyConditionExpression=Key("stale_shard").eq(str(shard)) & Key("stale_after").lte(now))
        found += [plain(item) for item in page["Items"]]
        if len(found) >= limit:
            break
    return found


def unmark(incident_id: str, target_key: str, stale_after: str) -> bool:
    """Take a swept record out of the stale index, unless it was marked anew since; True when it was."""
    try:
        conditional(_table().update_item, f"sweep {target_key}", Key=_key(incident_id, target_key),
                    UpdateExpression="REMOVE stale_shard, stale_after",
                    ConditionExpression=Attr("stale_after").eq(stale_after))
    except StorageConflict:
        return False
    return True


def remove(incident_id: str, target_key: str) -> None:
    _table().delete_item(Key=_key(incident_id, target_key))


def in_state(state: str, integration_id: str | None = None) -> list[dict]:
    """Deliveries in ``state`` (a scan: used by the monthly release and the quota view, not per card)."""
    condition = Attr("state").eq(state)
    if integration_id:
        condition = condition & Attr("integration_id").eq(integration_id)
    return scan_all(_table(), FilterExpression=condition)
