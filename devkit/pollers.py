"""Feed SQS messages into the app's real SQS handlers, the way Lambda's event source mapping does.

Batch size 1, like the deployed mapping, and several invocations of a queue's handler at once (as
Lambda scales out on a backlog), so a local burst can reach a platform's rate. A handler that raises
leaves the message in the queue, so it comes back after the visibility timeout and finally lands in
the DLQ (moto honours the redrive policy), exactly as in AWS.
"""
from __future__ import annotations

import logging
import os
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from chalicelib.common import aws

log = logging.getLogger("devkit.pollers")


def _event(message: dict, arn: str) -> dict:
    return {"Records": [{
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "attributes": message.get("Attributes", {}), "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": arn,
        "awsRegion": "us-east-1"}]}


def handlers_per_queue() -> int:
    """Invocations of one queue's handler at once: ``HANDLERS_PER_QUEUE``, else 4."""
    return max(1, int(os.environ.get("HANDLERS_PER_QUEUE", "4")))


class Poller(threading.Thread):
    """Long-polls one queue and invokes ``handler(event, context)`` per message, up to ``concurrency`` at once."""

    def __init__(self, logical: str, handler: Callable, stop: threading.Event, concurrency: int | None = None) -> None:
        super().__init__(name=f"poller-{logical}", daemon=True)
        self.logical, self.handler, self.stop_event = logical, handler, stop
        self.concurrency = concurrency or handlers_per_queue()
        self.handled = 0
        self.failed = 0
        self._counts = threading.Lock()
        self._free = threading.Semaphore(self.concurrency)  # invocations not running

    def run(self) -> None:
        sqs, url = aws.client("sqs"), aws.queue_url(self.logical)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"handler-{self.logical}") as invocations:
            while not self.stop_event.is_set():
                free = self._take_free()
                answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=free, WaitTimeSeconds=1,
                                             AttributeNames=["All"], MessageAttributeNames=["All"])
                messages = answer.get("Messages", [])
                for message in messages:
                    invocations.submit(self._handle, sqs, url, message, arn)
                for _ in range(free - len(messages)):
                    self._free.release()

    def _take_free(self) -> int:
        """Wait for one free invocation, then take every other free one (SQS hands out ten at most)."""
        self._free.acquire()
        free = 1
        while free < min(self.concurrency, 10) and self._free.acquire(blocking=False):
            free += 1
        return free

    def _handle(self, sqs, url: str, message: dict, arn: str) -> None:
        try:
            self._invoke(sqs, url, message, arn)
        finally:
            self._free.release()

    def _invoke(self, sqs, url: str, message: dict, arn: str) -> None:
        try:
            self.handler(_event(message, arn), None)
        except Exception:  # noqa: BLE001 - a Lambda failure: log it, let SQS redeliver
            with self._counts:
                self.failed += 1
            log.error("handler for %s failed:\n%s", self.logical, traceback.format_exc())
            return
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        with self._counts:
            self.handled += 1
