"""The error of a queued message's last failed attempt, for the operator (``python -m infra.ops dlq list``).

A handler that raises leaves its message to SQS, which redelivers it and finally moves it to the queue's
DLQ: the log is then the only place that says why. This keeps the last error by SQS message id (the move
to the DLQ keeps the message, id included) for as long as a DLQ keeps messages. Written only on a failure.
"""
from __future__ import annotations

from chalicelib.common import clock, schema
from chalicelib.store import ephemeral

KEEP = max(queue.dlq_retention_seconds for queue in schema.QUEUES)
MAX_ERROR = 1000


def _key(message_id: str) -> str:
    return f"failed-message:{message_id}"


def record(message_id: str, queue: str, error: str) -> None:
    ephemeral.put(_key(message_id), KEEP, queue=queue, error=error[:MAX_ERROR], at=clock.iso())


def recorded(message_id: str) -> dict | None:
    """``{"queue", "error", "at"}`` of the message's last failure, None when none was recorded."""
    return ephemeral.get(_key(message_id))


def forget(message_id: str) -> None:
    ephemeral.delete(_key(message_id))
