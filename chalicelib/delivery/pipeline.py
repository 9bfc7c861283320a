"""Deliver one job: send the incident's card to one target, or bring an existing card up to date.

Idempotent by construction: the delivery record is keyed by (incident, integration, recipient),
the platform card id is derived from the same key, and a card whose rendered content has not
changed is never sent or updated again. Retry policy lives in ``workers``; this module only records.
"""
from __future__ import annotations

import math

from chalicelib.common import clock
from chalicelib.common.errors import (
    Paced,
    PlatformError,
    PlatformUnavailable,
    QuotaExhausted,
    RateLimited,
    TargetGone,
)
from chalicelib.core import cards, incidents
from chalicelib.core.callback import FOUND_SENT, CardId
from chalicelib.core.models import DeliveryJob
from chalicelib.delivery import admission, notices
from chalicelib.flows import fanout, integrations
from chalicelib.store import chats, deliveries
from chalicelib.store import integrations as integration_store

LEASE_SECONDS = 60
UNKNOWN_REPLY_SECONDS = 5  # how long a platform that does not say may still apply a click's reply
SETTLE_MARGIN = 1  # seconds past the reply deadline before the clicked card is checked
SWEEP_LIMIT = 500  # lost deliveries re-queued per sweep run (the next run takes the rest)


def deliver(job: DeliveryJob) -> str:
    """Send or update the card; returns what happened (sent, updated, unchanged, skipped, digested)."""
    if job.notice:
        return notices.deliver(job)
    record = deliveries.get(job.incident_id, job.target_key)
    if record is None or record["state"] in ("unbound", "failed", "digested") and not record.get("ref"):
        return "skipped"
    item = integration_store.get(job.integration_id)
    if item is None:
        deliveries.record(job.incident_id, job.target_key, state="failed", error="integration was deleted")
        return "skipped"
    card = cards.build(incidents.get(job.incident_id), job.integration_id)
    if record.get("card_digest") == card.digest() and job.shown in (None, card.digest()):
        return "unchanged"
    if not deliveries.lease(job.incident_id, job.target_key, LEASE_SECONDS):
        raise RateLimited("dutybridge", "busy", "another worker holds this card", retry_after=5)
    return _send(job, record, integrations.adapter(item), card)


def _send(job: DeliveryJob, record: dict, adapter, card: cards.Card) -> str:
    ref, critical = record.get("ref"), card.severity == "critical"
    try:
        budget = admission.budget(job, adapter)
    except QuotaExhausted as exc:
        deliveries.record(job.incident_id, job.target_key, state="parked", error=exc.message)
        raise
    if budget.low:
        notices.warn_admins(job.integration_id, adapter.settings, budget)
        if not critical and not ref:  # running low: warnings and infos wait for the receiver's digest
            notices.fold(job, adapter.settings)
            return "digested"
    try:
        admission.pace(job, adapter, ref, critical)
    except Paced as exc:
        deliveries.record(job.incident_id, job.target_key, state=record["state"] if ref else "deferred",
                          error=exc.platform_message, expected_wait=exc.retry_after)
        raise
    try:
        if ref:
            ref, outcome = adapter.update_card(ref, card), "updated"
        else:
            ref, outcome = adapter.send_card(job.kind, job.target, card, job.card_key), "sent"
    except PlatformError as exc:
        state = "deferred" if exc.retryable else ("sent" if record.get("ref") else "failed")
        state = "parked" if isinstance(exc, QuotaExhausted) else state
        deliveries.record(job.incident_id, job.target_key, state=state, error=exc.brief(),
                          expected_wait=fanout.MAX_DELAY,  # the worker's retry delay is at most this
                          **({"answer_lost": True} if not ref and isinstance(exc, PlatformUnavailable) else {}))
        if isinstance(exc, TargetGone) and job.kind == "chat":
            chats.upsert(job.integration_id, job.target, active=False, removed_at=clock.iso(), error=exc.brief())
        raise
    # A send retried after its answer was lost may be met by the platform's duplicate check (Feishu's uuid,
    # WeCom's task_id) with the first attempt's card, built from an older state: what it shows is unknown, so
    # an update follows (or the adapter records why it cannot make one).
    unsure = outcome == "sent" and (ref.pop(FOUND_SENT, False) or bool(record.get("answer_lost")))
    shown = None if unsure else card.digest()
    deliveries.record(job.incident_id, job.target_key, state="sent", ref=ref, card_digest=shown, answer_lost=None,
                      error=None, sent_at=record.get("sent_at") or clock.iso(), updated_at=clock.iso())
    if outcome == "sent" and (unsure or _changed_since(job, card)):
        fanout.enqueue([job.model_copy(update={"attempt": 0, "slot_at": None, "shown": None})])
    return outcome


def _changed_since(job: DeliveryJob, card: cards.Card) -> bool:
    """Whether the incident moved on while its first card was on the way: the refreshes queued meanwhile
    skipped this card (it had no reference yet), so it must catch up by itself."""
    return cards.build(incidents.get(job.incident_id), job.integration_id).digest() != card.digest()


def clicked(incident_id: str, card: CardId | None) -> dict | None:
    """The delivery whose card was clicked: the one whose ref ``card`` names."""
    if card is None:
        return None
    return next((record for record in deliveries.of(incident_id) if card.names(record.get("ref"))), None)


def note_click(incident_id: str, card: CardId | None, ref_update: dict) -> str | None:
    """Keep what a click brought for its card's later updates (e.g. a fresh single-use update code);
    returns the clicked card's target key, None when the click matches no delivered card."""
    record = clicked(incident_id, card)
    if record is None:
        return None
    if ref_update:
        deliveries.merge_ref(incident_id, record["target_key"], ref_update)
    return record["target_key"]


def settle_after_reply(incident_id: str, clicked_card: CardId | None, card: cards.Card,
                       reply_seconds: float | None) -> str | None:
    """A click's reply is about to carry ``card``: once the platform can no longer apply that reply, the
    clicked card is checked, and updated unless it shows the incident's state (the reply came too late,
    or the incident changed again meanwhile). Returns the clicked card's target key."""
    record = clicked(incident_id, clicked_card)
    if record is None:
        return None
    fanout.enqueue([_job_of(record).model_copy(update={"shown": card.digest()})],
                     delay=math.ceil(reply_seconds or UNKNOWN_REPLY_SECONDS) + SETTLE_MARGIN)
    return record["target_key"]


def refresh_clicked(incident_id: str, card: CardId | None) -> None:
    """A refused click on a card its reply cannot update (WeCom): the card offered a button the incident's
    state no longer has, so it is behind; bring it up to date with what the click brought."""
    if record := clicked(incident_id, card):
        fanout.enqueue([_job_of(record)])


def shown_by_reply(incident_id: str, target_key: str, card: cards.Card) -> None:
    """The reply carrying ``card`` was ready well inside the platform's deadline: the card shows it."""
    deliveries.record(incident_id, target_key, release=False, card_digest=card.digest(), updated_at=clock.iso())


def fail(job: DeliveryJob, error: str) -> None:
    deliveries.record(job.incident_id, job.target_key, state="failed", error=error)


def release_parked() -> int:
    """The month turned: queue every parked delivery again (their budget is back)."""
    parked = deliveries.in_state("parked")
    for record in parked:
        deliveries.record(record["incident_id"], record["target_key"], state="pending", error=None)
    fanout.enqueue([_job_of(r) for r in parked])
    return len(parked)


def requeue_lost() -> int:
    """Queue again, once, each delivery still waiting well after its job was due (recorded, but the job
    never reached the queue). Queued first, then unmarked: a crash in between queues it twice, which
    delivery's idempotence absorbs, rather than never."""
    lost = deliveries.stale(SWEEP_LIMIT)
    fanout.enqueue([_job_of(r) for r in lost])
    return sum(deliveries.unmark(r["incident_id"], r["target_key"], r["stale_after"]) for r in lost)


def _job_of(record: dict) -> DeliveryJob:
    return DeliveryJob(incident_id=record["incident_id"], integration_id=record["integration_id"],
                       kind=record["kind"], target=record["target"])
