"""Every SQS send in one place: delivery jobs, war rooms, parked messages and incident events.

The jobs are the core's pydantic models (``DeliveryJob``, ``RoomJob``); this module only knows that
they serialise to JSON, so the layers above hand over what they decided and never call SQS.
"""
from __future__ import annotations

import json
from typing import Sequence

from pydantic import BaseModel

from chalicelib.common import aws

MAX_DELAY = 900  # SQS's longest DelaySeconds
BATCH = 10  # SQS's most messages per SendMessageBatch


def deliver(jobs: Sequence[BaseModel], delay: int = 0) -> None:
    """Queue delivery jobs (each sends or updates one card), ten to a batch; raises if SQS refuses any."""
    sqs, url = aws.client("sqs"), aws.queue_url("deliveries")
    for start in range(0, len(jobs), BATCH):
        entries = [{"Id": str(n), "MessageBody": job.model_dump_json(), "DelaySeconds": delay}
                   for n, job in enumerate(jobs[start:start + BATCH])]
        answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"SQS refused {len(answer['Failed'])} delivery jobs: {json.dumps(answer['Failed'])}")


def notify(body: str) -> None:
    """Queue a notification (a producer's, or a source's validated push) for the notifications worker."""
    aws.client("sqs").send_message(QueueUrl=aws.queue_url("notifications"), MessageBody=body)


def open_room(job: BaseModel, delay: int = 0) -> None:
    """Queue the opening of a war room (off any reply deadline: creating a group can take seconds)."""
    aws.client("sqs").send_message(QueueUrl=aws.queue_url("war-rooms"), MessageBody=job.model_dump_json(),
                                   DelaySeconds=delay)


def park(queue: str, body: str, error: str) -> None:
    """Keep an invalid message with its error in the queue's DLQ instead of retrying it forever."""
    aws.client("sqs").send_message(
        QueueUrl=aws.queue_url(f"{queue}-dlq"), MessageBody=body,
        MessageAttributes={"error": {"DataType": "String", "StringValue": error[:1000]}})


def publish(incident: dict, change: dict) -> None:
    """Send one ``incident.changed`` message carrying the new state and the timeline entry, so
    producers can follow what happened from chat."""
    body = {"type": "incident.changed", "incident": {
        k: incident.get(k) for k in ("id", "status", "severity", "title", "silenced_until", "version")},
        "change": change}
    aws.client("sqs").send_message(QueueUrl=aws.queue_url("incident-events"),
                                   MessageBody=json.dumps(body, ensure_ascii=False))
