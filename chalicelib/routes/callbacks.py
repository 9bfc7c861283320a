"""Platform callbacks: no bearer auth, each verified by the platform's own signature."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.flows import callbacks
from chalicelib.platforms.wecom import suite as wecom_suite
from chalicelib.routes.common import inbound, reply, sealed

bp = Blueprint(__name__)
JSON_AND_XML = ["application/json", "text/xml", "application/xml", "text/plain"]


@bp.route("/callbacks/{integration_id}/events", methods=["GET", "POST"], content_types=JSON_AND_XML)
@sealed
def platform_events(integration_id: str):
    return reply(callbacks.event(integration_id, inbound(bp)))


@bp.route("/callbacks/{integration_id}/card", methods=["POST"], content_types=JSON_AND_XML)
@sealed
def card_action(integration_id: str):
    return reply(callbacks.click(integration_id, inbound(bp)))


@bp.route("/callbacks/wecom-suite", methods=["GET", "POST"], content_types=JSON_AND_XML)
@sealed
def wecom_suite_callback():
    """The suite's 指令回调 and 数据回调: instructions handled here, clicks by the organisation's integration."""
    request = inbound(bp)
    routed, answer = wecom_suite.route(request)
    return reply(answer if answer is not None else callbacks.event(routed, request))
