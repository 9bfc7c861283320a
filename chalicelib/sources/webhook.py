"""Any producer: dutybridge's own notification (the SQS message) over HTTP."""
from __future__ import annotations

from chalicelib.core.models import Notification
from chalicelib.sources.base import SourceKind, validated


class Webhook(SourceKind):
    name = "webhook"

    def parse(self, body: bytes) -> Notification:
        return validated(Notification, body)
