"""Feed SQS messages into the app's real SQS handlers, the way Lambda's event source mapping does.

Batch size 1, like the deployed mapping. A handler that raises leaves the message in the queue,
so it comes back after the visibility timeout and finally lands in the DLQ (moto honours the
redrive policy), exactly as in AWS.
"""
from __future__ import annotations

import logging
import threading
import traceback
from typing import Callable

from chalicelib.common import aws

log = logging.getLogger("devkit.pollers")


def _event(message: dict, arn: str) -> dict:
    return {"Records": [{
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "attributes": message.get("Attributes", {}), "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": arn,
        "awsRegion": "us-east-1"}]}


class Poller(threading.Thread):
    """Long-polls one queue and invokes ``handler(event, context)`` per message."""

    def __init__(self, logical: str, handler: Callable, stop: threading.Event) -> None:
        super().__init__(name=f"poller-{logical}", daemon=True)
        self.logical, self.handler, self.stop_event = logical, handler, stop
        self.handled = 0
        self.failed = 0

    def run(self) -> None:
        sqs, url = aws.client("sqs"), aws.queue_url(self.logical)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        while not self.stop_event.is_set():
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1,
                                         AttributeNames=["All"], MessageAttributeNames=["All"])
            for message in answer.get("Messages", []):
                self._handle(sqs, url, message, arn)

    def _handle(self, sqs, url: str, message: dict, arn: str) -> None:
        try:
            self.handler(_event(message, arn), None)
        except Exception:  # noqa: BLE001 - a Lambda failure: log it, let SQS redeliver
            self.failed += 1
            log.error("handler for %s failed:\n%s", self.logical, traceback.format_exc())
            return
        self.handled += 1
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
