"""What a DingTalk card click must prove beyond its signature, which covers only the timestamp.

``x-ddpaas-signature`` is HMAC-SHA256(apiSecret, timestamp) and nothing else ("事件回调 / 回调签名
验证"), so one captured header pair would carry any body while its timestamp is fresh. Two checks close
that:
- a signature is remembered, with the body it came with, for as long as it is valid: the same body again
  is DingTalk delivering the same click again (answered by the click's dedupe, never lost), any other
  body under it is refused;
- a card in a person's robot chat (IM_ROBOT) is clicked by that person only (a forwarded copy, or a
  forged userId, cannot act on someone else's card). The click names its card by ``outTrackId``, the
  card key of one delivery record of this integration.
"""
from __future__ import annotations

import hashlib
import json

from chalicelib.common.errors import CallbackRejected
from chalicelib.core.models import DeliveryJob
from chalicelib.store import deliveries, ephemeral


def body_digest(body: dict) -> str:
    """The click's identity: the same JSON in any key order or spacing gives the same digest."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))  # ASCII: lone surrogates too
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def spend_signature(integration_id: str, signature: str, digest: str, valid_for: float) -> None:
    """Remember ``signature`` with the body it signed; refuse it with any other body while it is valid."""
    key = f"cardsig#{integration_id}#{signature}"
    if ephemeral.claim(key, valid_for, body=digest):
        return
    seen = ephemeral.get(key)
    if seen is None or seen.get("body") != digest:
        raise CallbackRejected("card callback signature already used with another body")


def check_recipient(integration_id: str, incident_id: str, out_track_id: str, user_id: str) -> None:
    """Refuse a click on a card this integration never delivered, or on someone else's 1:1 card."""
    for record in deliveries.of(incident_id):
        if record.get("integration_id") != integration_id:
            continue
        card = DeliveryJob(incident_id=incident_id, integration_id=integration_id, kind=record["kind"],
                           target=record["target"])
        if card.card_key != out_track_id:
            continue
        if record["kind"] == "user" and record["target"] != user_id:
            raise CallbackRejected("a 1:1 card was clicked by someone other than its recipient")
        return
    raise CallbackRejected("no card of this integration has this outTrackId")
