"""May this call go out now? The monthly budget and the pacing windows, asked in that order.

Shared by incident cards and notices (digests, warnings) so every call a platform counts passes
the same gate.
"""
from __future__ import annotations

from chalicelib.common import clock
from chalicelib.common.errors import Paced, QuotaExhausted
from chalicelib.core.models import DeliveryJob
from chalicelib.delivery import pacing, quota
from chalicelib.store import ledger


def budget(job: DeliveryJob, adapter) -> quota.Budget:
    """This month's budget; raises QuotaExhausted once it is spent (the card is parked)."""
    found = quota.budget(job.integration_id, adapter.name, adapter.settings.model_dump())
    if found.spent:
        raise QuotaExhausted("dutybridge", "ledger", ledger.SPENT)
    return found


def pace(job: DeliveryJob, adapter, ref: dict | None, critical: bool) -> None:
    """Return when the call may go now; else raise Paced with the reserved slot (or, when the
    windows are booked too far ahead, with a time to ask again)."""
    windows = adapter.windows("update" if ref else "send", job.kind, job.target, ref)
    if job.slot_at is not None and pacing.holds(windows, job.slot_at):
        return
    if job.slot_at is not None and job.slot_at > clock.now():
        raise _paced(job.slot_at, reserved=True)
    try:
        slot_at = pacing.reserve(windows, critical)
    except pacing.TooFar as exc:
        raise _paced(exc.retry_at, reserved=False) from None
    if slot_at is not None:
        raise _paced(slot_at, reserved=True)


def _paced(until: float, reserved: bool) -> Paced:
    wait = max(0.05, until - clock.now())
    return Paced(f"paced: a published platform limit is full, {'slot reserved' if reserved else 'next try'} "
                 f"in {wait:.1f}s", retry_after=wait, slot_at=until if reserved else None)
