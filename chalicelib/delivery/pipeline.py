"""Deliver one job: send the incident's card to one target, or bring an existing card up to date.

Idempotent by construction: the delivery record is keyed by (incident, integration, recipient),
the platform card id is derived from the same key, and a card whose rendered content has not
changed is never sent or updated again. Retry policy lives in ``workers``; this module only records.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from chalicelib.common import clock, queues
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
from chalicelib.delivery import admission, fallback, mentions, notices, pictures, quota
from chalicelib.platforms import adapter_for
from chalicelib.platforms.base import Adapter
from chalicelib.platforms.errortable import verdict
from chalicelib.store import chats, deliveries, health
from chalicelib.store import integrations as integration_store

LEASE_SECONDS = 60
UNKNOWN_REPLY_SECONDS = 5  # how long a platform that does not say may still apply a click's reply
SETTLE_MARGIN = 1  # seconds past the reply deadline before the clicked card is checked
SWEEP_LIMIT = 500  # lost deliveries re-queued per sweep run (the next run takes the rest)
BURST_WAIT = 5  # seconds a robot's new message may wait for its limit before it is folded into the burst


class Ledger(Protocol):
    """Where a card's way through the gate is written down: an incident card's delivery record, or a
    notice's own marks (``notices.Notice``)."""

    def parked(self, exc: QuotaExhausted) -> None: ...

    def low(self, budget: quota.Budget) -> bool: ...  # True: folded into a digest instead of sent

    def paced(self, exc: Paced) -> None: ...

    def burst(self, exc: Paced) -> bool: ...  # True: folded into the burst's one message instead of sent late

    def refused(self, exc: PlatformError) -> None: ...

    def send(self) -> dict: ...  # the platform call itself; returns the card's reference

    def sent(self, ref: dict) -> str: ...  # what happened (sent, updated)


def deliver(job: DeliveryJob) -> str:
    """Send or update the card; returns what happened (sent, updated, unchanged, skipped, digested)."""
    if job.notice:
        return _deliver_notice(job)
    record, leased = deliveries.take(job.incident_id, job.target_key, LEASE_SECONDS)  # read and lease: one write
    if record is None or record["state"] in ("unbound", "failed", "digested") and not record.get("ref"):
        _give_back(job, leased)
        return "skipped"
    item = integration_store.get(job.integration_id)
    if item is None:
        deliveries.record(job.incident_id, job.target_key, state="failed", error="integration was deleted")
        return "skipped"
    incident = incidents.get(job.incident_id)
    card = cards.build(incident, job.integration_id, item.get("settings", {}))
    if record.get("card_digest") == card.digest() and job.shown in (None, card.digest()):
        _give_back(job, leased)
        return "unchanged"  # e.g. a click's settle job finding the reply shown
    if not leased:
        raise RateLimited("dutybridge", "busy", "another worker holds this card", retry_after=5)
    adapter = adapter_for(item)
    card = pictures.attach(job, adapter, record, card)
    if record.get("mentions") and adapter.rings_mentions:
        card = card.model_copy(update={"mentions": mentions.of(record["mentions"])})
    ledger = _CardLedger(job, record, adapter, card, incident["version"])
    return _send(job, adapter, record.get("ref"), card.severity == "critical", ledger)


def _give_back(job: DeliveryJob, leased: bool) -> None:
    if leased:
        deliveries.release(job.incident_id, job.target_key)


def _deliver_notice(job: DeliveryJob) -> str:
    """A digest, warning, room failure or direct message: sent once, through the same gate as incident
    cards."""
    item = integration_store.get(job.integration_id)
    if item is None:
        return "skipped"
    adapter = adapter_for(item)
    notice = notices.prepare(job, adapter)
    if notice is None:
        return "skipped"
    return _send(job, adapter, None, notice.critical, notice)


def _send(job: DeliveryJob, adapter: Adapter, ref: dict | None, critical: bool, ledger: Ledger) -> str:
    """The gate every call a platform counts goes through: budget, then pacing, then the call itself,
    each outcome written down by ``ledger``."""
    try:
        budget = admission.budget(job, adapter)
    except QuotaExhausted as exc:
        ledger.parked(exc)
        raise
    if budget.low and ledger.low(budget):
        return "digested"
    try:
        admission.pace(job, adapter, ref, critical)
    except Paced as exc:
        if ledger.burst(exc):
            return "digested"
        ledger.paced(exc)
        raise
    try:
        ref = ledger.send()
    except PlatformError as exc:
        health.delivered(job.integration_id, {"state": "failed", **verdict(exc)})
        ledger.refused(exc)
        raise
    health.delivered(job.integration_id, {"state": "ok"})
    return ledger.sent(ref)


@dataclass
class _CardLedger:
    """An incident card's outcomes, on its delivery record."""

    job: DeliveryJob
    record: dict
    adapter: Adapter
    card: cards.Card
    incident_version: int  # of the incident the card was built from

    def parked(self, exc: QuotaExhausted) -> None:
        via = fallback.divert(self.job, self.adapter.settings, self.card)
        deliveries.record(self.job.incident_id, self.job.target_key, state="parked",
                          error=f"{exc.message}; {via}" if via else exc.message)

    def low(self, budget: quota.Budget) -> bool:
        """Running low: the admins hear it once, and new warnings and infos wait for the receiver's digest."""
        notices.warn_admins(self.job.integration_id, self.adapter.settings, budget)
        if self.card.severity == "critical" or self.record.get("ref"):
            return False
        notices.fold(self.job, self.adapter.settings)
        return True

    def burst(self, exc: Paced) -> bool:
        """A robot's new message that would go out late (its per-minute limit is full) joins the minute's one
        message instead: a group hears of a storm at once, never card by card minutes later."""
        if not self.adapter.folds_bursts or self.record.get("ref") or exc.retry_after <= BURST_WAIT:
            return False
        notices.fold(self.job, self.adapter.settings, "burst")
        return True

    def paced(self, exc: Paced) -> None:
        deliveries.record(self.job.incident_id, self.job.target_key,
                          state=self.record["state"] if self.record.get("ref") else "deferred",
                          error=exc.platform_message, expected_wait=exc.retry_after)

    def refused(self, exc: PlatformError) -> None:
        job, had_ref = self.job, bool(self.record.get("ref"))
        state = "deferred" if exc.retryable else ("sent" if had_ref else "failed")
        via = fallback.divert(job, self.adapter.settings, self.card) if isinstance(exc, QuotaExhausted) else None
        state = "parked" if isinstance(exc, QuotaExhausted) else state
        deliveries.record(job.incident_id, job.target_key, state=state,
                          error=f"{exc.brief()}; {via}" if via else exc.brief(),
                          expected_wait=queues.MAX_DELAY,  # the worker's retry delay is at most this
                          **({"answer_lost": True} if not had_ref and isinstance(exc, PlatformUnavailable) else {}))
        if isinstance(exc, TargetGone) and job.kind == "chat":
            chats.upsert(job.integration_id, job.target, active=False, removed_at=clock.iso(), error=exc.brief())

    def send(self) -> dict:
        job, ref = self.job, self.record.get("ref")
        return self.adapter.update_card(ref, self.card) if ref else self.adapter.send_card(
            job.kind, job.target, self.card, job.card_key)

    def sent(self, ref: dict) -> str:
        # A send retried after its answer was lost may be met by the platform's duplicate check (Feishu's uuid,
        # WeCom's task_id) with the first attempt's card, built from an older state: what it shows is unknown,
        # so an update follows (or the adapter records why it cannot make one).
        # A first card must also catch up when the incident moved on while it was on the way: the refreshes
        # queued meanwhile skipped it (it had no reference yet). The record is written together with a check
        # of the incident's version; when that fails, the card goes again (unchanged cards stop there).
        job, record, card = self.job, self.record, self.card
        outcome = "updated" if record.get("ref") else "sent"
        unsure = outcome == "sent" and (ref.pop(FOUND_SENT, False) or bool(record.get("answer_lost")))
        fields = {"state": "sent", "ref": ref, "card_digest": None if unsure else card.digest(),
                  "answer_lost": None, "error": None,
                  "template_error": card.template_error or None,  # the default card was shown: why
                  "sent_at": record.get("sent_at") or clock.iso(), "updated_at": clock.iso()}
        if outcome == "sent" and not unsure and deliveries.record_if_unchanged(
                job.incident_id, job.target_key, self.incident_version, **fields):
            return outcome
        deliveries.record(job.incident_id, job.target_key, **fields)
        if outcome == "sent":
            queues.deliver([job.model_copy(update={"attempt": 0, "slot_at": None, "shown": None})])
        return outcome


def clicked(incident_id: str, card: CardId | None) -> dict | None:
    """The delivery whose card was clicked: the one whose ref ``card`` names."""
    return None if card is None else _clicked_among(deliveries.of(incident_id), card)


def _clicked_among(records: list[dict], card: CardId | None) -> dict | None:
    if card is None:
        return None
    return next((record for record in records if card.names(record.get("ref"))), None)


def note_click(records: list[dict], card: CardId | None, ref_update: dict) -> str | None:
    """Keep what a click brought for its card's later updates (e.g. a fresh single-use update code);
    returns the clicked card's target key among the incident's delivery ``records``, None when the click
    matches no delivered card."""
    record = _clicked_among(records, card)
    if record is None:
        return None
    if ref_update:
        deliveries.merge_ref(record["incident_id"], record["target_key"], ref_update)
    return record["target_key"]


def settle_after_reply(incident_id: str, clicked_card: CardId | None, card: cards.Card,
                       reply_seconds: float | None) -> str | None:
    """A click's reply is about to carry ``card``: once the platform can no longer apply that reply, the
    clicked card is checked, and updated unless it shows the incident's state (the reply came too late,
    or the incident changed again meanwhile). Returns the clicked card's target key."""
    record = clicked(incident_id, clicked_card)
    if record is None:
        return None
    queues.deliver([_job_of(record).model_copy(update={"shown": card.digest()})],
                   delay=math.ceil(reply_seconds or UNKNOWN_REPLY_SECONDS) + SETTLE_MARGIN)
    return record["target_key"]


def refresh_clicked(incident_id: str, card: CardId | None) -> None:
    """A refused click on a card its reply cannot update (WeCom): the card offered a button the incident's
    state no longer has, so it is behind; bring it up to date with what the click brought."""
    if record := clicked(incident_id, card):
        queues.deliver([_job_of(record)])


def shown_by_reply(incident_id: str, target_key: str, card: cards.Card) -> None:
    """The reply carrying ``card`` was ready well inside the platform's deadline: the card shows it."""
    deliveries.record(incident_id, target_key, release=False, card_digest=card.digest(), updated_at=clock.iso())


def fail(job: DeliveryJob, error: str) -> None:
    deliveries.record(job.incident_id, job.target_key, state="failed", error=error)


def retried(records: list[dict], states: tuple[str, ...] = ("failed",)) -> list[DeliveryJob]:
    """Jobs that try the deliveries among ``records`` that failed (or are in ``states``) again, each marked
    pending first; a card that was sent but whose last update failed is tried again too (e.g. after WeCom's
    60020 IP allow-list was fixed)."""
    again = [r for r in records if r["state"] in states or r["state"] == "sent" and r.get("error")]
    for record in again:
        deliveries.record(record["incident_id"], record["target_key"], error=None, card_digest=None,
                          **({} if record["state"] == "sent" else {"state": "pending"}))
    return [_job_of(r) for r in again]


def release_parked() -> int:
    """The month turned: queue every parked delivery again (their budget is back)."""
    jobs = retried(deliveries.in_state("parked"), ("parked",))
    queues.deliver(jobs)
    return len(jobs)


def requeue_lost() -> int:
    """Queue again, once, each delivery still waiting well after its job was due (recorded, but the job
    never reached the queue). Queued first, then unmarked: a crash in between queues it twice, which
    delivery's idempotence absorbs, rather than never."""
    lost = deliveries.stale(SWEEP_LIMIT)
    queues.deliver([_job_of(r) for r in lost])
    return sum(deliveries.unmark(r["incident_id"], r["target_key"], r["stale_after"]) for r in lost)


def _job_of(record: dict) -> DeliveryJob:
    return DeliveryJob(incident_id=record["incident_id"], integration_id=record["integration_id"],
                       kind=record["kind"], target=record["target"])
