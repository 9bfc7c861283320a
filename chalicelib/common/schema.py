"""The one definition of every DynamoDB table, SQS queue and SSM parameter.

The bootstrap command, the CloudFormation template merged into ``chalice package``, the local
runtime and the tests all build their resources from here.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    range_key: str | None = None


@dataclass(frozen=True)
class Table:
    logical: str
    hash_key: str
    range_key: str | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None

    def attribute_definitions(self) -> list[dict]:
        names = [self.hash_key, self.range_key]
        for index in self.indexes:
            names += [index.hash_key, index.range_key]
        return [{"AttributeName": n, "AttributeType": "S"} for n in sorted({n for n in names if n})]

    def key_schema(self) -> list[dict]:
        return _keys(self.hash_key, self.range_key)

    def index_specs(self) -> list[dict]:
        return [{"IndexName": i.name, "KeySchema": _keys(i.hash_key, i.range_key),
                 "Projection": {"ProjectionType": "ALL"}} for i in self.indexes]


def _keys(hash_key: str, range_key: str | None) -> list[dict]:
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    return keys + ([{"AttributeName": range_key, "KeyType": "RANGE"}] if range_key else [])


@dataclass(frozen=True)
class Queue:
    logical: str
    visibility_timeout: int = 120  # at least the consuming Lambda's timeout (Chalice requirement)
    max_receive_count: int = 5  # then the message is parked in the DLQ
    dlq_retention_seconds: int = 14 * 24 * 3600
    consumed: bool = True  # a Lambda of this app reads it (incident-events is for producers)


TABLES: tuple[Table, ...] = (
    # Every integration is listed under one key of ``by_listing`` (a query finds them all, never a scan).
    Table("integrations", "id", indexes=(Index("by_listing", "listing", "created_at"),)),
    # Operator-level platform setups shared by integrations (the WeCom suite) and their grants.
    Table("providers", "id"),
    Table("members", "id", indexes=(Index("by_mobile", "mobile"), Index("by_email", "email"))),
    # A member's binding per integration; the index finds the member behind a platform user.
    Table("bindings", "member_id", "integration_id", indexes=(Index("by_user", "user_key"),)),
    Table("chats", "integration_id", "chat_id"),
    Table("incidents", "id"),
    # Where Alertmanager, Grafana and webhooks push (README, "Sources"); keys stored as hashes.
    Table("sources", "id"),
    # A source's alert group (its groupKey, hashed) and the incident that follows it now.
    Table("alert_groups", "source_id", "group_id"),
    # The sparse index holds only deliveries waiting for a queued job, by when they count as lost.
    Table("deliveries", "incident_id", "target_key", indexes=(Index("by_stale", "stale_shard", "stale_after"),)),
    # Which incidents concern a member (notified or acted), for their "my incidents" page.
    Table("involvements", "member_id", "incident_id"),
    # Tokens, dedupe marks, OAuth state, locks and quota windows: all expire by TTL.
    Table("ephemeral", "key", ttl_attribute="expires_at"),
)

QUEUES: tuple[Queue, ...] = (
    Queue("notifications"),
    Queue("deliveries"),
    # War rooms asked for from a card: opened here, off the click's 2-3 s reply deadline.
    Queue("war-rooms"),
    Queue("incident-events", visibility_timeout=30, consumed=False),
)


def dlq_name(queue: Queue) -> str:
    return f"{queue.logical}-dlq"


# The admin API's bearer token, a SecureString the bootstrap creates (CloudFormation cannot create one).
ADMIN_TOKEN = "admin-token"


def parameter_name(prefix: str, logical: str) -> str:
    """An SSM parameter's name, e.g. ``/dutybridge-dev/admin-token`` (``ADMIN_TOKEN_PARAMETER``)."""
    return f"/{prefix}/{logical}"
