"""Publish incident changes to the stage's incident-events queue, so producers can follow them."""
from __future__ import annotations

import json

from chalicelib.common import aws


def publish(incident: dict, change: dict) -> None:
    """Send one ``incident.changed`` message carrying the new state and the timeline entry."""
    body = {"type": "incident.changed", "incident": {
        k: incident.get(k) for k in ("id", "status", "severity", "title", "silenced_until", "version")},
        "change": change}
    aws.client("sqs").send_message(QueueUrl=aws.queue_url("incident-events"),
                                   MessageBody=json.dumps(body, ensure_ascii=False))
