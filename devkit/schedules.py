"""The app's rate schedules, run on their rate as EventBridge runs them in the cloud (``make run`` only: the
tests call the schedules they need). So locally, too, the health summaries fill in, lost deliveries are
swept and Alertmanager's silenced groups settle. Cron schedules (the month's turn) are left to the cloud.
"""
from __future__ import annotations

import datetime as dt
import importlib
import logging
import re
import threading
import time
import types
import uuid

log = logging.getLogger("devkit.schedules")
RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
FIRST_AFTER = 30.0  # seconds after start: long enough for the walkthrough to set integrations up


def rates(app) -> list[tuple[str, float]]:
    """The app's ``rate(...)`` schedules: (handler string, period in seconds)."""
    found = []
    for source in app.event_sources:
        match = RATE.fullmatch(str(getattr(source, "schedule_expression", "")))
        if match:
            found.append((source.handler_string, int(match[1]) * UNIT_SECONDS[match[2].rstrip("s")]))
    return found


def scheduled_event(name: str) -> dict:
    """The event EventBridge hands a scheduled function."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "000000000000", "region": "us-east-1", "detail": {},
            "time": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resources": [f"arn:aws:events:us-east-1:000000000000:rule/{name}"]}


class Schedules(threading.Thread):
    """Runs each rate schedule ``first_after`` seconds after start, then once a period, until ``stop`` is set."""

    def __init__(self, app, stop: threading.Event, first_after: float = FIRST_AFTER) -> None:
        super().__init__(name="schedules", daemon=True)
        self.stop_event, started = stop, time.monotonic()
        self.due = {handler: [started + first_after, period] for handler, period in rates(app)}

    def run(self) -> None:
        while not self.stop_event.wait(0.5):
            for handler_string, timing in self.due.items():
                if time.monotonic() >= timing[0]:
                    timing[0] += timing[1]
                    self.invoke(handler_string)

    @staticmethod
    def invoke(handler_string: str) -> None:
        module, name = handler_string.rsplit(".", 1)
        try:
            getattr(importlib.import_module(module), name)(
                scheduled_event(name), types.SimpleNamespace(function_name=name, aws_request_id=str(uuid.uuid4())))
        except Exception:  # a failing run is logged and tried again next period, as EventBridge would
            log.exception("schedule %s failed", name)
