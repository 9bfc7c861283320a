"""The web app people open from the platform's 工作台 (web_home) and the incident pages cards link to."""
from __future__ import annotations

from chalice import Blueprint, Response
from pydantic import BaseModel, Field

from chalicelib import actions, incidents, integrations, linking, pages, sessions, views
from chalicelib.errors import Unauthorized
from chalicelib.models import Action
from chalicelib.routes.common import guarded, parse

bp = Blueprint(__name__)
HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


class CodeIn(BaseModel):
    code: str = Field(min_length=1, max_length=512)


class MobileIn(BaseModel):
    mobile: str = Field(pattern=r"^\+?[0-9][0-9 -]{4,30}$")


class PageAction(BaseModel):
    action: Action
    minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)


def _viewer(integration_id: str):
    return sessions.current(bp.current_request.headers.get("cookie", ""), integration_id)


def _linked(integration_id: str, user, member: dict | None, cookie: str | None = None) -> Response:
    body = {"user": {"id": user.user_id, "name": user.name}, "member": views.member(member) if member else None}
    return Response(body, headers={"Set-Cookie": cookie} if cookie else {})


@bp.route("/app/{integration_id}")
@guarded
def home(integration_id: str):
    adapter = integrations.adapter(integrations.get(integration_id))
    return Response(pages.login(integration_id, adapter.h5_page_config()), headers=HTML)


@bp.route("/app/{integration_id}/login", methods=["POST"])
@guarded
def login(integration_id: str):
    code = parse(bp, CodeIn).code
    user = integrations.adapter(integrations.get(integration_id)).h5_user(code)
    return _linked(integration_id, user, linking.auto_link(integration_id, user), sessions.start(integration_id, user))


@bp.route("/app/{integration_id}/link", methods=["POST"])
@guarded
def link(integration_id: str):
    user = _viewer(integration_id)
    if user is None:
        raise Unauthorized("请先在应用内登录 (sign in from the app first)")
    return _linked(integration_id, user, linking.link_by_mobile(integration_id, user, parse(bp, MobileIn).mobile))


@bp.route("/app/{integration_id}/incidents/{incident_id}")
@guarded
def incident_page(integration_id: str, incident_id: str):
    integrations.get(integration_id)
    user = _viewer(integration_id)
    member = linking.member_of(integration_id, user.user_id) if user else None
    html = pages.incident(integration_id, incidents.get(incident_id), member["name"] if member else "")
    return Response(html, headers=HTML)


@bp.route("/app/{integration_id}/incidents/{incident_id}/actions", methods=["POST"])
@guarded
def incident_action(integration_id: str, incident_id: str):
    user = _viewer(integration_id)
    member = linking.member_of(integration_id, user.user_id) if user else None
    if member is None:
        raise Unauthorized(actions.UNLINKED)
    request = parse(bp, PageAction)
    incident = actions.apply(incident_id, request.action, member, integrations.get(integration_id)["platform"],
                             request.minutes)
    actions.spread(incident)
    return views.incident(incident)
