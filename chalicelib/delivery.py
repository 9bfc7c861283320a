"""Deliver one job: send the incident's card to one target, or bring an existing card up to date.

Idempotent by construction: the delivery record is keyed by (incident, integration, recipient),
the platform card id is derived from the same key, and a card whose rendered content has not
changed is never sent or updated again. Retry policy lives in ``workers``; this module only records.
"""
from __future__ import annotations

import hashlib

from chalicelib import cards, clock, incidents, integrations, pacing, quota
from chalicelib.errors import Paced, PlatformError, QuotaExhausted, RateLimited, TargetGone
from chalicelib import dispatch
from chalicelib.models import DeliveryJob
from chalicelib.store import chats, deliveries
from chalicelib.store import integrations as integration_store

LEASE_SECONDS = 60


def card_key(job: DeliveryJob) -> str:
    """Stable platform-side card id: ``<incident id>.<hash of integration and target>``."""
    return f"{job.incident_id}.{hashlib.sha1(job.target_key.encode()).hexdigest()[:12]}"


def deliver(job: DeliveryJob) -> str:
    """Send or update the card; returns what happened (sent, updated, unchanged, skipped)."""
    record = deliveries.get(job.incident_id, job.target_key)
    if record is None or record["state"] in ("unbound", "failed") and not record.get("ref"):
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


def _pace(job: DeliveryJob, record: dict, adapter, critical: bool) -> None:
    if quota.spent(job.integration_id, adapter.name, adapter.settings.model_dump()):
        raise QuotaExhausted("dutybridge", "ledger", "本月调用量已用完，月初自动补发 (monthly call budget spent; "
                                                      "parked until the month turns)")
    operation = "update" if record.get("ref") else "send"
    wait = pacing.acquire(adapter.windows(operation, job.kind, job.target, record.get("ref")), critical)
    if wait is not None:
        deliveries.record(job.incident_id, job.target_key, state="deferred" if operation == "send" else record["state"],
                          error=f"paced: a published {adapter.name} limit is full, next slot in {wait:.1f}s")
        raise Paced("dutybridge", "paced", "deferred to stay inside the platform's limits", retry_after=wait)


def _send(job: DeliveryJob, record: dict, adapter, card: cards.Card) -> str:
    try:
        _pace(job, record, adapter, critical=card.severity == "critical")
    except QuotaExhausted as exc:
        deliveries.record(job.incident_id, job.target_key, state="parked", error=exc.message)
        raise
    try:
        if record.get("ref"):
            ref, outcome = adapter.update_card(record["ref"], card), "updated"
        else:
            ref, outcome = adapter.send_card(job.kind, job.target, card, card_key(job)), "sent"
    except PlatformError as exc:
        state = "deferred" if exc.retryable else ("sent" if record.get("ref") else "failed")
        state = "parked" if isinstance(exc, QuotaExhausted) else state
        deliveries.record(job.incident_id, job.target_key, state=state, error=_describe(exc))
        if isinstance(exc, TargetGone) and job.kind == "chat":
            chats.upsert(job.integration_id, job.target, active=False, removed_at=clock.iso(), error=_describe(exc))
        raise
    deliveries.record(job.incident_id, job.target_key, state="sent", ref=ref, card_digest=card.digest(),
                      error=None, sent_at=record.get("sent_at") or clock.iso(), updated_at=clock.iso())
    return outcome


def _describe(exc: PlatformError) -> str:
    return f"{exc.platform} {exc.platform_code}: {exc.platform_message}"


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
