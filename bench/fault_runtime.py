"""The local system as the fault run needs it: the simulators and the app on the warp's clock, a chosen
number of deliveries handlers at once (as concurrent Lambda invocations), quiet logs, and a way to know
when all is done."""
from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

from bench.fault_clock import Warp
from chalicelib.common import aws
from devkit.runtime import Runtime

QUEUES = ("notifications", "deliveries", "war-rooms")
QUIET_CHECKS = 3


@dataclass
class BenchRuntime(Runtime):
    """The local runtime on the warp's clock, with ``delivery_workers`` deliveries handlers at once."""

    warp: Warp | None = None
    delivery_workers: int = 4

    def _start_simulators(self) -> None:
        from devkit.simulators.combined import start_simulators
        self.simulators = start_simulators(self.host, self.simulator_port, now=self.warp.now)
        self.simulator_port = self.simulators.port

    def _start_app(self) -> None:
        """The app as ``Runtime`` starts it, without a log line per request and per refused card update (by
        the thousand, on stdout, where the figures go); errors still show."""
        from chalice.local import ChaliceRequestHandler

        from app import app

        class Quiet(ChaliceRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

        super()._start_app()
        handler = self.server.server.RequestHandlerClass  # a partial binding the app and its config
        self.server.server.RequestHandlerClass = functools.partial(Quiet, *handler.args, **handler.keywords)
        self._app_log_level = app.log.level
        app.log.setLevel(logging.ERROR)

    def stop(self) -> None:
        from app import app
        super().stop()
        app.log.setLevel(self._app_log_level)

    def concurrency(self, logical: str) -> int:
        return self.delivery_workers if logical == "deliveries" else super().concurrency(logical)


def _waiting(sqs: Any) -> int:
    """Messages in the app's queues: visible, in flight or delayed."""
    names = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed")
    return sum(int(sqs.get_queue_attributes(QueueUrl=aws.queue_url(queue), AttributeNames=list(names))
                   ["Attributes"][name]) for queue in QUEUES for name in names)


def settle(timeout: float) -> bool:
    """Wait until no queue holds a message for QUIET_CHECKS seconds in a row; False on timeout."""
    sqs, quiet, deadline = aws.client("sqs"), 0, time.monotonic() + timeout
    while quiet < QUIET_CHECKS:
        if time.monotonic() > deadline:
            return False
        quiet = quiet + 1 if _waiting(sqs) == 0 else 0
        time.sleep(1)
    return True


def dead_letters() -> int:
    """Messages parked in the queues' DLQs."""
    sqs = aws.client("sqs")
    return sum(int(sqs.get_queue_attributes(QueueUrl=aws.queue_url(f"{queue}-dlq"), AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]) for queue in QUEUES)
