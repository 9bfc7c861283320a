"""Operator-level setups a platform declares (the WeCom suite): their admin API and their callbacks.

A provider's callback is verified and answered by the provider itself, or handed to the integration it
belongs to; an integration the provider reports opened (an organisation installed the app) is stored here.
"""
from __future__ import annotations

from chalicelib.common.errors import CallbackRejected, NotFound
from chalicelib.core.callback import InboundRequest, Reply
from chalicelib.flows import callbacks, integrations
from chalicelib.platforms import provider
from chalicelib.platforms.base import Provider


def named(name: str) -> Provider:
    """The provider ``name``; 404 for the admin API when no platform declares it."""
    found = provider(name)
    if found is None:
        raise NotFound(f"no provider {name}")
    return found


def callback(name: str, request: InboundRequest) -> Reply:
    """A provider's callback: its own answer, the events it parsed for one of its integrations (applied
    once, like the integration's own pushes), or the callback handed to the integration it names."""
    found = provider(name)
    if found is None:
        raise CallbackRejected(f"no provider {name}")
    routed = found.route(request)
    if routed.opened is not None:
        integrations.open_assigned(routed.opened)
    if routed.events is not None:
        return callbacks.pushed(routed.integration_id, routed.events)
    return routed.reply if routed.reply is not None else callbacks.event(routed.integration_id, request)
