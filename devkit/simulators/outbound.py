"""Calls a platform simulator makes to the app (event pushes, card callbacks) and how the app answered.

``post`` times the call and records status, parsed body and transport errors on a ``Delivery``; each
platform's push module decides what counts as a good reply and whether it came in time. ``NETWORK``
stands for the path between the platforms and the app: instant, unless a fault mix is set on it.
"""
from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

import requests

from devkit.simulators.faults import FaultMix


@dataclass
class Delivery:
    """One outbound call and how the app answered it."""

    kind: str  # "event" or "card"
    url: str
    label: str  # EventType or actionId
    at: float
    deadline_ms: int
    status: int | None = None
    body: Any = None
    latency_ms: int = 0
    error: str = ""  # transport failure or why the reply was not accepted

    @property
    def late(self) -> bool:
        return self.latency_ms > self.deadline_ms

    @property
    def ok(self) -> bool:
        return not self.error and not self.late

    def public(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "label": self.label, "at": self.at, "status": self.status,
                "body": self.body, "latencyMs": self.latency_ms, "deadlineMs": self.deadline_ms,
                "late": self.late, "ok": self.ok, "error": self.error}


class Network:
    """The way back from the app to a platform. With a fault mix, the answer faults it draws for a call
    (server errors and throttles mean nothing here) make the app's reply come back later: ``slow`` and
    ``lost`` add their seconds, ``dropped`` loses the reply. The platform waits for it no longer than its
    deadline, so a reply that comes back after it is late however fast the app was."""

    def __init__(self) -> None:
        self.mix: FaultMix | None = None

    def delay(self, delivery: Delivery) -> float | None:
        """Seconds the reply to ``delivery`` spends on the way back; None when it never arrives."""
        fault = self.mix.draw(()) if self.mix and delivery.kind != "verify" else None
        if fault is None:
            return 0.0
        return None if fault.kind == "dropped" else fault.seconds


NETWORK = Network()


def new_nonce() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(8))


def post(delivery: Delivery, timeout: float, **kwargs: Any) -> requests.Response | None:
    return send(delivery, timeout, "POST", **kwargs)


def send(delivery: Delivery, timeout: float, method: str, **kwargs: Any) -> requests.Response | None:
    """Make the call with any HTTP method and record how it went on ``delivery``."""
    started = time.monotonic()
    try:
        response = requests.request(method, delivery.url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        delivery.error = f"{type(exc).__name__}: {exc}"
        response = None
    answered, delay = time.monotonic() - started, NETWORK.delay(delivery) if response is not None else 0.0
    if delay is None:  # the platform waits out its deadline for a reply that never comes
        delivery.error, response, delay = "the reply was lost on the way back", None, delivery.deadline_ms / 1000
    time.sleep(min(delay, max(0.0, delivery.deadline_ms / 1000 - answered)))  # no platform waits longer
    delivery.latency_ms = int((answered + delay) * 1000)
    if response is not None:
        delivery.status = response.status_code
        try:
            delivery.body = response.json()
        except ValueError:
            delivery.body = response.text[:2000]
    return response
