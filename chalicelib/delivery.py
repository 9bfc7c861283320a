"""Deliver one job: send the incident's card to one target, or bring an existing card up to date.

Idempotent by construction: the delivery record is keyed by (incident, integration, recipient),
the platform card id is derived from the same key, and a card whose rendered content has not
changed is never sent or updated again. Retry policy lives in ``workers``; this module only records.
"""
from __future__ import annotations

from chalicelib import admission, cards, clock, dispatch, incidents, integrations, notices
from chalicelib.errors import Paced, PlatformError, QuotaExhausted, RateLimited, TargetGone
from chalicelib.models import DeliveryJob
from chalicelib.platforms.base import FOUND_SENT
from chalicelib.store import chats, deliveries
from chalicelib.store import integrations as integration_store

LEASE_SECONDS = 60


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
    if record.get("card_digest") == card.digest():
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
                          error=exc.platform_message)
        raise
    try:
        if ref:
            ref, outcome = adapter.update_card(ref, card), "updated"
        else:
            ref, outcome = adapter.send_card(job.kind, job.target, card, job.card_key), "sent"
    except PlatformError as exc:
        state = "deferred" if exc.retryable else ("sent" if record.get("ref") else "failed")
        state = "parked" if isinstance(exc, QuotaExhausted) else state
        deliveries.record(job.incident_id, job.target_key, state=state, error=exc.brief())
        if isinstance(exc, TargetGone) and job.kind == "chat":
            chats.upsert(job.integration_id, job.target, active=False, removed_at=clock.iso(), error=exc.brief())
        raise
    shown = None if ref.pop(FOUND_SENT, False) else card.digest()
    deliveries.record(job.incident_id, job.target_key, state="sent", ref=ref, card_digest=shown,
                      error=None, sent_at=record.get("sent_at") or clock.iso(), updated_at=clock.iso())
    return outcome


def note_click(incident_id: str, match: dict, shown: cards.Card | None, ref_update: dict) -> None:
    """On the card whose ref contains ``match``: record that a click reply already shows ``shown``,
    and keep what the click brought for later updates (e.g. a fresh single-use update code)."""
    for record in deliveries.of(incident_id):
        ref = record.get("ref") or {}
        if match and all(ref.get(k) == v for k, v in match.items()):
            fields = {"card_digest": shown.digest()} if shown else {}
            deliveries.record(incident_id, record["target_key"], release=False, ref={**ref, **ref_update},
                              updated_at=clock.iso(), **fields)
            return


def fail(job: DeliveryJob, error: str) -> None:
    deliveries.record(job.incident_id, job.target_key, state="failed", error=error)


def release_parked() -> int:
    """The month turned: queue every parked delivery again (their budget is back)."""
    parked = deliveries.in_state("parked")
    for record in parked:
        deliveries.record(record["incident_id"], record["target_key"], state="pending", error=None)
    dispatch.enqueue([DeliveryJob(incident_id=r["incident_id"], integration_id=r["integration_id"], kind=r["kind"],
                                  target=r["target"]) for r in parked])
    return len(parked)
