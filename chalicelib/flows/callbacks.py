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
from chalicelib.core.callback import (
    ChatEvent,
    ChatEvents,
    Click,
    ClickOutcome,
    Endpoint,
    Handshake,
    InboundRequest,
    Reply,
)
from chalicelib.delivery import notices, pipeline
from chalicelib.flows import actions, integrations, offboarding
from chalicelib.platforms import adapter_for
from chalicelib.platforms.base import Adapter
from chalicelib.store import chats, deliveries, ephemeral, health

DEDUPE_SECONDS = 3 * 24 * 3600
CLAIM_SECONDS = 30  # longer than any callback may run (API Gateway gives up after 29 s)
MAX_KEY_BYTES = 256  # longer dedupe keys are stored as their hash (DynamoDB keys are at most 2 KB)
MAX_CHAT_ID_BYTES = 256  # chat ids are DynamoDB keys; the platforms' are under 100 characters
# The dedupe marks of what came to each URL, under the names deployed versions wrote them with.
DEDUPE_KINDS = {Endpoint.events: "seen", Endpoint.card: "click"}


def _adapter(integration_id: str) -> Adapter:
    try:
        return adapter_for(integrations.get(integration_id))
    except NotFound as exc:
        raise CallbackRejected("unknown integration") from exc


def event(integration_id: str, request: InboundRequest) -> Reply:
    """A callback to the events URL (WeCom's card clicks come here too)."""
    return _receive(integration_id, request, Endpoint.events)


def click(integration_id: str, request: InboundRequest) -> Reply:
    """A callback to the card URL."""
    return _receive(integration_id, request, Endpoint.card)


def _receive(integration_id: str, request: InboundRequest, endpoint: Endpoint) -> Reply:
    with deliveries.read_once():
        return _received(integration_id, request, endpoint)


def _received(integration_id: str, request: InboundRequest, endpoint: Endpoint) -> Reply:
    """Verify, answer handshakes, keep the chat list, apply a card click and answer with the platform's card
    update; a redelivered event or click is answered but not applied again."""
    adapter = _adapter(integration_id)
    parsed = adapter.parse_callback(request, endpoint)
    health.callback_seen(integration_id, endpoint.value)  # verified: the platform reaches this URL
    if isinstance(parsed, Handshake):
        return parsed.reply
    if isinstance(parsed, ChatEvents):
        return pushed(integration_id, parsed)
    key = _dedupe_key(DEDUPE_KINDS[endpoint], integration_id, parsed.dedupe_key)
    return _once(key, lambda: _answer(adapter, integration_id, parsed, request,
                                      actions.from_click(integration_id, adapter.name, parsed)),
                 lambda: _answer(adapter, integration_id, parsed, request,
                                 actions.already_handled(integration_id, parsed)))


def pushed(integration_id: str, events: ChatEvents) -> Reply:
    """Events a provider's callback brought for one of its integrations (e.g. WeCom's suite relaying a
    departure), applied once like the integration's own pushes."""
    key = _dedupe_key(DEDUPE_KINDS[Endpoint.events], integration_id, events.dedupe_key)
    return _once(key, lambda: _keep_chats(integration_id, events), lambda: events.reply)


def _keep_chats(integration_id: str, pushed: ChatEvents) -> Reply:
    """The chat list changes and the departures (offboarding) an event push brought."""
    for chat_event in pushed.events:
        _apply(integration_id, chat_event)
    for departure in pushed.departures:
        if not departure.user_id or len(departure.user_id.encode("utf-8")) > actions.MAX_USER_ID_BYTES:
            raise CallbackRejected("departed user id missing or too long")
        offboarding.depart(integration_id, departure)
    return pushed.reply


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


def _answer(adapter: Adapter, integration_id: str, click: Click, request: InboundRequest,
            outcome: ClickOutcome) -> Reply:
    """The platform's answer to a click. A reply that carries the card counts as showing it only when
    it was ready well inside the platform's deadline (a late reply is dropped by the platform); either
    way the clicked card is checked once the platform can no longer apply the reply. Where the reply
    cannot carry the card, a refused click's card is brought up to date through the API. A direct message
    the answer asks for goes out afterwards, through the notices' budget and pacing."""
    carried = outcome.card is not None and click.reply_updates_card
    target_key = (pipeline.settle_after_reply(click.incident_id, click.card, outcome.card,
                                              adapter.click_reply_seconds) if carried else None)
    if outcome.card is not None and not carried and not outcome.ok:
        pipeline.refresh_clicked(click.incident_id, click.card)
    answer = adapter.click_reply(click, outcome)
    if answer.direct_message:
        notices.tell(integration_id, click.user_id, answer.direct_message)
    deadline = adapter.click_reply_seconds
    if target_key and deadline and time.monotonic() - request.received_at < deadline / 2:
        pipeline.shown_by_reply(click.incident_id, target_key, outcome.card)
    return answer.reply


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
