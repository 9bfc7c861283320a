"""The incident's picture on an integration's cards: fetched and uploaded once per integration, then reused.

An incident names its picture by address (``image_url``, e.g. Grafana's panel). The first card that goes out
on an integration fetches it (``common.fetch``: public addresses only, unless the integration's
``image_hosts`` names the host) and puts it where that platform's cards can show it (the adapter's
``upload_image``); the reference is kept on the incident (``images[integration_id]`` = {"ref", "url", "at"}),
so every other card of the incident on that integration, and every update, shows the same upload. A
reference that outlives the platform's ``image_lifetime`` is made again. A picture that cannot be shown
never fails the card: the card goes without it and its delivery says why (``note``); the same failure is
not tried again before RETRY_SECONDS (the producer may fix the address, or a new one is tried at once).
"""
from __future__ import annotations

from chalicelib.common import clock
from chalicelib.common.errors import NotConfigured, PlatformError
from chalicelib.common.fetch import FetchRefused, picture
from chalicelib.core import cards, incidents
from chalicelib.core.models import DeliveryJob
from chalicelib.platforms.base import Adapter
from chalicelib.store import deliveries

RETRY_SECONDS = 15 * 60
NOT_SHOWN = "图片未显示 picture not shown: "


def attach(job: DeliveryJob, adapter: Adapter, record: dict, card: cards.Card) -> cards.Card:
    """``card`` with its picture's reference on this integration, uploading it first where none is usable."""
    if not card.image_url:
        return card
    if not adapter.image_types:
        _note(job, record, adapter.image_refusal)
        return card
    if not adapter.wants_image(record.get("ref")):
        return card
    if card.image and adapter.image_lifetime is None:  # cards.build found this url's lasting upload already
        _note(job, record, None)
        return card
    upload = (incidents.get(job.incident_id).get("images") or {}).get(job.integration_id) or {}
    if _usable(upload, card.image_url, adapter.image_lifetime):  # made by another card, still alive
        _note(job, record, None)
        return card.model_copy(update={"image": upload["ref"]})
    if upload.get("url") == card.image_url and upload.get("error") and _age(upload) < RETRY_SECONDS:
        _note(job, record, upload["error"])  # another card of the incident just failed with it
        return card.model_copy(update={"image": ""})
    try:
        ref = adapter.upload_image(picture(card.image_url, adapter.image_max_bytes, adapter.image_types,
                                           adapter.settings.image_hosts))
    except (FetchRefused, NotConfigured, PlatformError) as exc:
        return _failed(job, record, card, exc)
    incidents.record_image(job.incident_id, job.integration_id, {"ref": ref, "url": card.image_url, "at": clock.iso()})
    _note(job, record, None)
    return card.model_copy(update={"image": ref})


def _usable(upload: dict, url: str, lifetime: int | None) -> bool:
    return bool(upload.get("ref")) and upload.get("url") == url and (lifetime is None or _age(upload) < lifetime)


def _age(upload: dict) -> float:
    return clock.now() - clock.parse_iso(upload["at"]) if upload.get("at") else float("inf")


def _failed(job: DeliveryJob, record: dict, card: cards.Card, exc: Exception) -> cards.Card:
    """The card without its picture; why is noted on the delivery, and kept on the incident (so that the other
    cards do not try again at once) unless a later try may well succeed (the platform was busy)."""
    why = exc.brief() if isinstance(exc, PlatformError) else str(exc)
    if not getattr(exc, "retryable", False):
        incidents.record_image(job.incident_id, job.integration_id,
                               {"error": why[:500], "url": card.image_url, "at": clock.iso()})
    _note(job, record, why)
    return card.model_copy(update={"image": ""})


def _note(job: DeliveryJob, record: dict, why: str | None) -> None:
    """Say on the delivery why its card shows no picture (None: it does), writing only what changes."""
    note = NOT_SHOWN + why[:500] if why else None
    if record.get("note") != note:
        deliveries.record(job.incident_id, job.target_key, release=False, note=note)
        record["note"] = note
