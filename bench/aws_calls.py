"""Every AWS API call the app makes, counted by service and operation through botocore's ``before-call``
event (moto answers below that event, so emulated calls count exactly as real ones would)."""
from __future__ import annotations

import collections
import contextlib
from typing import Iterator

import boto3


class AwsCalls:
    """A tally of (service, operation) → calls, for the sessions created while ``counting()`` is open."""

    def __init__(self) -> None:
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def _count(self, model, **_) -> None:
        self.counts[(model.service_model.service_name, model.name)] += 1

    @contextlib.contextmanager
    def counting(self) -> Iterator[AwsCalls]:
        """Hook every boto3 session made inside (the app builds its clients lazily, after ``aws.reset()``):
        a client copies its session's handlers when it is created."""
        original = boto3.session.Session.__init__

        def hooked(session, *args, **kwargs):
            original(session, *args, **kwargs)
            session.events.register("before-call", self._count)

        boto3.session.Session.__init__ = hooked
        try:
            yield self
        finally:
            boto3.session.Session.__init__ = original

    def snapshot(self) -> collections.Counter[tuple[str, str]]:
        return collections.Counter(self.counts)

    def since(self, before: collections.Counter[tuple[str, str]]) -> collections.Counter[tuple[str, str]]:
        return self.counts - before


def per(counts: collections.Counter[tuple[str, str]], units: int) -> dict:
    """``{"total": n, "dynamodb": n, "dynamodb ops": {"GetItem": n, …}, "other": {"sqs.SendMessage": n}}``
    per unit (a delivered card, a click), rounded to two places."""
    def each(value: int) -> float:
        return round(value / max(units, 1), 2)
    dynamo = {op: each(n) for (service, op), n in sorted(counts.items()) if service == "dynamodb"}
    other = {f"{service}.{op}": each(n) for (service, op), n in sorted(counts.items()) if service != "dynamodb"}
    return {"total": each(sum(counts.values())),
            "dynamodb": each(sum(n for (service, _), n in counts.items() if service == "dynamodb")),
            "dynamodb ops": dynamo, "other": other}
