"""The SQS side: the retry policy for deliveries and parking of invalid messages, in one place.

Chalice cannot report partial batch failures, so every handler runs with batch size 1 and never
relies on SQS redelivery for expected failures: a retryable platform error re-enqueues the job
with a delay (the platform's own retry-after when it gave one, else exponential backoff), a
permanent one is recorded on the delivery, and an invalid message is parked in the DLQ with its
error. Only unexpected errors propagate, so SQS redelivers and finally dead-letters the message; the
last one's error is kept by message id (store.failures) for the operator CLI's ``dlq list``.
"""
from __future__ import annotations

import logging
import math
from typing import Callable, TypeVar

from pydantic import BaseModel, ValidationError

from chalicelib.common import queues
from chalicelib.common.errors import NotFound, Paced, Permanent, Retryable, readable
from chalicelib.core.models import DeliveryJob, Notification, RoomJob
from chalicelib.delivery import pipeline
from chalicelib.flows import actions, fanout, silences, sources
from chalicelib.store import failures

log = logging.getLogger("dutybridge.worker")
Message = TypeVar("Message", bound=BaseModel)
Job = TypeVar("Job", DeliveryJob, RoomJob)  # a queued job that counts its attempts
MAX_ATTEMPTS = 10
ESCALATE_AFTER = 3


def attempt(queue: str, message_id: str, handle: Callable[[str], None], body: str) -> None:
    """Run ``handle(body)``; an unexpected error is recorded against the message, then raised on so SQS
    redelivers it (and after ``max_receive_count`` tries moves it to the DLQ)."""
    try:
        handle(body)
    except Exception as exc:
        try:
            failures.record(message_id, queue, f"{type(exc).__name__}: {exc}")
        except Exception as unrecorded:  # noqa: BLE001 - never hide the handler's own error behind this one
            log.warning("could not record the failure of %s message %s: %s", queue, message_id,
                        type(unrecorded).__name__)
        raise


def _parse(model: type[Message], queue: str, body: str) -> Message | None:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:  # parked in the queue's DLQ with its error, never retried
        error = readable(exc)
        log.warning("parking invalid %s message: %s", queue, error)
        queues.park(queue, body, error)
        return None


def handle_notification(body: str) -> None:
    """A producer's notification, or a source's push queued by the push route (``source_push``)."""
    if body.startswith('{"source_push":'):
        if (push := _parse(sources.QueuedPush, "notifications", body)) and (accepted := _applied(push)):
            queue_jobs(accepted)
    elif notification := _parse(Notification, "notifications", body):
        accept(notification)


def _applied(push: sources.QueuedPush) -> fanout.Accepted | None:
    try:
        return sources.apply_push(push)
    except NotFound as exc:  # its source was deleted meanwhile: kept with the reason, never retried
        queues.park("notifications", push.model_dump_json(), exc.message)
        return None


def accept(notification: Notification) -> dict:
    """Apply a notification (from its queue or ``POST /incidents``) and queue its cards; returns the incident."""
    return queue_jobs(fanout.accept(notification))


def queue_jobs(accepted: fanout.Accepted) -> dict:
    """Queue what an applied notification or push became; returns the incident."""
    for room in accepted.rooms:  # first: a delivery whose job is lost is swept up again, a room would not be
        queues.open_room(room)
    queues.deliver(accepted.deliveries)
    return accepted.incident


def handle_delivery(body: str) -> None:
    job = _parse(DeliveryJob, "deliveries", body)
    if job is None:
        return
    try:
        pipeline.deliver(job)
    except Retryable as exc:
        retry_later(job, exc)
    except Permanent as exc:
        log.info("delivery %s stopped: %s", job.target_key, exc.platform_code)


def backoff(attempt: int) -> int:
    return min(queues.MAX_DELAY, 5 * 2 ** attempt)


def retry_later(job: DeliveryJob, exc: Retryable) -> None:
    if isinstance(exc, Paced):  # our own pacing: wait for the reserved slot, spend no attempt
        queues.deliver([job.model_copy(update={"slot_at": exc.slot_at})],
                       delay=min(queues.MAX_DELAY, math.ceil(exc.retry_after)))
        return
    _again(job, exc, lambda again, delay: queues.deliver([again], delay=delay),
           lambda: pipeline.fail(job, f"gave up after {MAX_ATTEMPTS} attempts: {exc.message}"))


def handle_room(body: str) -> None:
    job = _parse(RoomJob, "war-rooms", body)
    if job is None:
        return
    try:
        actions.open_requested_room(job)
    except Retryable as exc:
        _again(job, exc, queues.open_room, lambda error=exc: actions.room_failed(job, error))


def _again(job: Job, exc: Retryable, resend: Callable[[Job, int], None], give_up: Callable[[], None]) -> None:
    """One more attempt after the retry delay, or ``give_up`` once MAX_ATTEMPTS are spent."""
    if job.attempt + 1 >= MAX_ATTEMPTS:
        give_up()
        return
    resend(job.model_copy(update={"attempt": job.attempt + 1}), retry_delay(job.attempt, exc))


def retry_delay(attempt: int, exc: Retryable) -> int:
    """The platform's delay is a minimum: a block that keeps answering (WeCom's hourly or daily 45009
    windows) is met with a growing wait from the third try on."""
    delay = math.ceil(exc.retry_after) if exc.retry_after else backoff(attempt)
    if attempt >= ESCALATE_AFTER:
        delay = max(delay, backoff(attempt))
    return min(queues.MAX_DELAY, delay)


def release_parked() -> None:
    log.info("released %d parked deliveries", pipeline.release_parked())


def requeue_lost() -> None:
    if requeued := pipeline.requeue_lost():
        log.warning("re-queued %d deliveries whose job never reached the queue", requeued)


def settle_silenced() -> None:
    """Groups silenced at their source resolve there without a push: ask, and bring their cards up to date."""
    for incident in silences.settle_watched():
        queues.publish(incident, incident["timeline"][-1])
        actions.spread(incident)
