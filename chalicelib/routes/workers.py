"""SQS handlers, batch size 1 (see chalicelib.flows.consumers for why)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.common import lazy
from chalicelib.common.config import settings

consumers = lazy.module("chalicelib.flows.consumers")
health = lazy.module("chalicelib.flows.health")

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=settings().name("notifications"), batch_size=1)
def notifications(event):
    for record in event:
        consumers.attempt("notifications", record.to_dict()["messageId"], consumers.handle_notification, record.body)


@bp.on_sqs_message(queue=settings().name("deliveries"), batch_size=1)
def deliveries(event):
    for record in event:
        consumers.attempt("deliveries", record.to_dict()["messageId"], consumers.handle_delivery, record.body)


@bp.on_sqs_message(queue=settings().name("war-rooms"), batch_size=1)
def war_rooms(event):
    for record in event:
        consumers.attempt("war-rooms", record.to_dict()["messageId"], consumers.handle_room, record.body)


@bp.schedule("cron(5 0 1 * ? *)")
def month_turned(event):
    """00:05 UTC on the 1st: monthly budgets are back, send what was parked."""
    consumers.release_parked()


@bp.schedule("rate(5 minutes)")
def sweep_lost_deliveries(event):
    """Deliveries recorded whose job never reached the queue (a crash in between) are queued again."""
    consumers.requeue_lost()


@bp.schedule("rate(2 minutes)")
def settle_silenced_groups(event):
    """Alertmanager never pushes the resolution of alerts that resolved while silenced: ask it."""
    consumers.settle_silenced()


@bp.schedule("rate(10 minutes)")
def check_health(event):
    """Every integration's health summary, stored for GET /integrations (README, "Health")."""
    health.refresh_all()
