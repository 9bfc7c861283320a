"""Platform callbacks: no bearer auth, each verified by the platform's own signature."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.common import lazy
from chalicelib.platforms import callback_content_types
from chalicelib.routes.common import inbound, reply, sealed

callbacks = lazy.module("chalicelib.flows.callbacks")
providers = lazy.module("chalicelib.flows.providers")
bp = Blueprint(__name__)
CONTENT_TYPES = callback_content_types()


@bp.route("/callbacks/{integration_id}/events", methods=["GET", "POST"], content_types=CONTENT_TYPES)
@sealed
def platform_events(integration_id: str):
    return reply(callbacks.event(integration_id, inbound(bp)))


@bp.route("/callbacks/{integration_id}/card", methods=["POST"], content_types=CONTENT_TYPES)
@sealed
def card_action(integration_id: str):
    return reply(callbacks.click(integration_id, inbound(bp)))


@bp.route("/callbacks/{name}", methods=["GET", "POST"], content_types=CONTENT_TYPES)
@sealed
def provider_callback(name: str):
    """A provider's callbacks (the WeCom suite's 指令回调 and 数据回调), e.g. ``/callbacks/wecom-suite``."""
    return reply(providers.callback(name, inbound(bp)))
