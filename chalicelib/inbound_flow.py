"""What happens after a platform callback is verified: chat list upkeep, dedupe, card clicks."""
from __future__ import annotations

from chalicelib import actions, clock, integrations
from chalicelib.errors import CallbackRejected, NotFound
from chalicelib.platforms.base import ChatEvent, InboundRequest, Reply
from chalicelib.store import chats, ephemeral

DEDUPE_SECONDS = 3 * 24 * 3600


def _adapter(integration_id: str):
    try:
        return integrations.adapter(integrations.get(integration_id))
    except NotFound as exc:
        raise CallbackRejected("unknown integration") from exc


def event(integration_id: str, request: InboundRequest) -> Reply:
    """Verify, answer handshakes, keep the chat list; a redelivered event is answered but not reapplied."""
    adapter = _adapter(integration_id)
    batch = adapter.parse_event(request)
    if batch.dedupe_key and not ephemeral.claim(f"seen#{integration_id}#{batch.dedupe_key}", DEDUPE_SECONDS):
        return batch.reply
    for chat_event in batch.chat_events:
        _apply(integration_id, chat_event)
    if batch.click:
        return adapter.click_reply(batch.click, actions.from_click(integration_id, adapter.name, batch.click))
    return batch.reply


def _apply(integration_id: str, event: ChatEvent) -> None:
    if event.kind == "joined":
        chats.upsert(integration_id, event.chat_id, active=True, installed_at=clock.iso(), **event.extra,
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
    if parsed.dedupe_key and not ephemeral.claim(f"click#{integration_id}#{parsed.dedupe_key}", DEDUPE_SECONDS):
        return adapter.click_reply(parsed, actions.already_handled(integration_id, parsed))
    return adapter.click_reply(parsed, actions.from_click(integration_id, adapter.name, parsed))
