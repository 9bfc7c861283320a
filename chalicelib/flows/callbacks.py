"""What happens after a platform callback is verified: chat list upkeep, dedupe, card clicks.

A redelivered click or event is answered but not applied again. It counts as handled only once it
was applied: a short claim keeps a concurrent duplicate out while it is applied, a failure releases
the claim (so the platform's redelivery applies it), success turns it into the dedupe mark.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from typing import Callable

from chalicelib.common import clock
from chalicelib.common.errors import CallbackRejected, NotFound
from chalicelib.core.callback import ChatEvent, Click, ClickOutcome, InboundRequest, Reply
from chalicelib.delivery import pipeline
from chalicelib.flows import actions, integrations
from chalicelib.platforms import adapter_for
from chalicelib.platforms.base import Adapter
from chalicelib.store import chats, ephemeral

DEDUPE_SECONDS = 3 * 24 * 3600
CLAIM_SECONDS = 30  # longer than any callback may run (API Gateway gives up after 29 s)
MAX_KEY_BYTES = 256  # longer dedupe keys are stored as their hash (DynamoDB keys are at most 2 KB)
MAX_CHAT_ID_BYTES = 256  # chat ids are DynamoDB keys; the platforms' are under 100 characters


def _adapter(integration_id: str) -> Adapter:
    try:
        return adapter_for(integrations.get(integration_id))
    except NotFound as exc:
        raise CallbackRejected("unknown integration") from exc


def event(integration_id: str, request: InboundRequest) -> Reply:
    """Verify, answer handshakes, keep the chat list; a redelivered event is answered but not reapplied."""
    adapter = _adapter(integration_id)
    batch = adapter.parse_event(request)

    def apply() -> Reply:
        for chat_event in batch.chat_events:
            _apply(integration_id, chat_event)
        if batch.click:
            return _answer(adapter, integration_id, batch.click, request,
                           actions.from_click(integration_id, adapter.name, batch.click))
        return batch.reply

    return _once(_dedupe_key("seen", integration_id, batch.dedupe_key), apply, lambda: batch.reply)


def _apply(integration_id: str, event: ChatEvent) -> None:
    if not event.chat_id or len(event.chat_id.encode("utf-8")) > MAX_CHAT_ID_BYTES:
        raise CallbackRejected("chat id missing or too long")
    extra = {name: str(value) for name, value in event.extra.items()}
    if event.kind == "joined":
        chats.upsert(integration_id, event.chat_id, active=True, installed_at=clock.iso(), **extra,
                     **({"title": event.title} if event.title else {}))
    elif event.kind == "left":
        chats.upsert(integration_id, event.chat_id, active=False, removed_at=clock.iso())
    elif event.kind == "renamed":
        chats.upsert(integration_id, event.chat_id, title=event.title)


def click(integration_id: str, request: InboundRequest) -> Reply:
    """Verify a card click, apply it once, and answer with the platform's card update."""
    adapter = _adapter(integration_id)
    parsed = adapter.parse_click(request)
    if isinstance(parsed, Reply):
        return parsed  # the callback URL's handshake
    return _once(_dedupe_key("click", integration_id, parsed.dedupe_key),
                 lambda: _answer(adapter, integration_id, parsed, request,
                                 actions.from_click(integration_id, adapter.name, parsed)),
                 lambda: _answer(adapter, integration_id, parsed, request,
                                 actions.already_handled(integration_id, parsed)))


def _answer(adapter: Adapter, integration_id: str, click: Click, request: InboundRequest,
            outcome: ClickOutcome) -> Reply:
    """The platform's answer to a click. A reply that carries the card counts as showing it only when
    it was ready well inside the platform's deadline (a late reply is dropped by the platform); either
    way the clicked card is checked once the platform can no longer apply the reply. Where the reply
    cannot carry the card, a refused click's card is brought up to date through the API."""
    carried = outcome.card is not None and click.reply_updates_card
    target_key = (pipeline.settle_after_reply(click.incident_id, click.context, outcome.card,
                                              adapter.click_reply_seconds) if carried else None)
    if outcome.card is not None and not carried and not outcome.ok:
        pipeline.refresh_clicked(click.incident_id, click.context)
    reply = adapter.click_reply(click, outcome)
    deadline = adapter.click_reply_seconds
    if target_key and deadline and time.monotonic() - request.received_at < deadline / 2:
        pipeline.shown_by_reply(click.incident_id, target_key, outcome.card)
    return reply


def _dedupe_key(kind: str, integration_id: str, dedupe_key: str | None) -> str | None:
    if not dedupe_key:
        return None
    key = f"{kind}#{integration_id}#{dedupe_key}"
    if len(key.encode("utf-8")) <= MAX_KEY_BYTES:
        return key
    return f"{kind}#{integration_id}#sha256:{hashlib.sha256(dedupe_key.encode('utf-8')).hexdigest()}"


def _once(key: str | None, apply: Callable[[], Reply], already: Callable[[], Reply]) -> Reply:
    """``apply`` unless ``key`` was handled (or is being handled) already, then ``already``."""
    if key is None:
        return apply()
    owner = secrets.token_hex(8)
    if not ephemeral.claim(key, CLAIM_SECONDS, owner=owner):
        return already()
    try:
        answer = apply()
    except Exception:
        ephemeral.delete(key, owner=owner)
        raise
    ephemeral.put(key, DEDUPE_SECONDS, owner=owner)
    return answer
