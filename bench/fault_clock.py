"""Faster time for the fault run: one clock for the app and the simulators, and SQS delays to match.

The app waits through SQS: a retry or a paced card is re-queued with DelaySeconds (up to 900 s), and
the embedded SQS honours it in wall-clock time. ``Warp`` makes time pass ``speed`` times faster for
everything that reads a clock: the app's ``chalicelib.common.clock.now`` and the simulators' ``now`` (token
lives, rate windows, update-token and response-code lifetimes, signature freshness) run on
``warp.now``, and a botocore hook on the app's own SQS client divides every DelaySeconds by ``speed``
(rounded up to whole seconds, as SQS wants them). The app computes the same delays and takes the same
decisions it would take in real time; only the wait is shorter. What stays in real time is what the
network measures: HTTP timeouts (the app's 5 s) and the platforms' click reply deadlines (2-5 s), so a
slow answer is exactly as slow as it would be. Keep ``speed`` below 60 s / (2 × 5 s) = 6: a card's lease
(60 s of app time) must outlast a token fetch and a call that both time out, as it does in production.
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from typing import Any, Iterator

from chalicelib.common import clock

MAX_DELAY = 900  # SQS's longest DelaySeconds
SQS_SENDS = ("before-parameter-build.sqs.SendMessage", "before-parameter-build.sqs.SendMessageBatch")


class Warp:
    """Time that runs ``speed`` times faster than the wall clock from the moment it is made."""

    def __init__(self, speed: float) -> None:
        if speed < 1:
            raise ValueError("speed is at least 1 (real time)")
        self.speed = speed
        self.origin = time.time()
        self._hooked: Any = None  # the SQS client whose sends are scaled

    def now(self) -> float:
        return self.origin + (time.time() - self.origin) * self.speed

    def elapsed(self) -> float:
        """Seconds of warped time since the start."""
        return self.now() - self.origin

    def real_delay(self, seconds: int) -> int:
        """The DelaySeconds that lets ``seconds`` of warped time pass."""
        return min(MAX_DELAY, math.ceil(seconds / self.speed))

    def _scale_delays(self, params: dict[str, Any], **_: Any) -> None:
        for entry in params.get("Entries") or [params]:
            if entry.get("DelaySeconds"):
                entry["DelaySeconds"] = self.real_delay(int(entry["DelaySeconds"]))

    @contextmanager
    def running(self) -> Iterator[Warp]:
        """The app's clock on this warp while the block runs; SQS hooked with ``hook_sqs`` is unhooked after."""
        saved = clock.now
        clock.now = self.now
        try:
            yield self
        finally:
            clock.now = saved
            self.unhook_sqs()

    def hook_sqs(self, client: Any) -> None:
        """Scale the DelaySeconds of every message ``client`` sends."""
        for event in SQS_SENDS:
            client.meta.events.register(event, self._scale_delays)
        self._hooked = client

    def unhook_sqs(self) -> None:
        if self._hooked is not None:
            for event in SQS_SENDS:
                self._hooked.meta.events.unregister(event, self._scale_delays)
            self._hooked = None
