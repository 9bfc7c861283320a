"""The local SQS pollers run several invocations of a queue's handler at once, as Lambda does."""
from __future__ import annotations

import threading
import time

from chalicelib.common import aws
from devkit.pollers import Poller, handlers_per_queue


def _queue(bodies: list[str]) -> None:
    sqs, url = aws.client("sqs"), aws.queue_url("war-rooms")
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)


def _run(concurrency: int, messages: int, handler) -> Poller:
    stop = threading.Event()
    poller = Poller("war-rooms", handler, stop, concurrency)
    poller.start()
    deadline = time.monotonic() + 20
    while poller.handled + poller.failed < messages and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    poller.join(timeout=5)
    return poller


def test_a_queue_runs_up_to_its_concurrency_at_once_and_no_more(aws_env):
    running, most, lock = [0], [0], threading.Lock()

    def handler(event, _context):
        assert len(event["Records"]) == 1  # batch size 1, as deployed
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1

    _queue([f"m{n}" for n in range(12)])
    poller = _run(4, 12, handler)
    assert poller.handled == 12 and most[0] == 4
    assert aws.client("sqs").receive_message(QueueUrl=aws.queue_url("war-rooms")).get("Messages") is None


def test_a_failing_invocation_frees_its_place_and_leaves_its_message(aws_env):
    def handler(event, _context):
        if event["Records"][0]["body"] == "bad":
            raise RuntimeError("boom")

    _queue(["bad", "good", "good"])
    poller = _run(2, 3, handler)
    assert (poller.handled, poller.failed) == (2, 1)


def test_the_concurrency_defaults_to_four_and_follows_the_environment(monkeypatch):
    assert handlers_per_queue() == 4
    monkeypatch.setenv("HANDLERS_PER_QUEUE", "1")
    assert handlers_per_queue() == 1 and Poller("deliveries", print, threading.Event()).concurrency == 1
