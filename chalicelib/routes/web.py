"""The web app people open from the platform's 工作台 (web_home) and the incident pages cards link to."""
from __future__ import annotations

from chalice import Blueprint, Response
from pydantic import BaseModel, Field

from chalicelib import actions, incidents, integrations, linking, pages, sessions, views, weblogin
from chalicelib.errors import Unauthorized
from chalicelib.models import Action
from chalicelib.routes.common import guarded, parse

bp = Blueprint(__name__)
HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


class CodeIn(BaseModel):
    code: str = Field(min_length=1, max_length=512)
    next: str | None = Field(default=None, max_length=512)


class MobileIn(BaseModel):
    mobile: str = Field(pattern=r"^\+?[0-9][0-9 -]{4,30}$")


class PageAction(BaseModel):
    action: Action
    minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)


def _viewer(integration_id: str):
    return sessions.current(bp.current_request.headers.get("cookie", ""), integration_id)


def _who(user, member: dict | None) -> dict:
    return {"user": {"id": user.user_id, "name": user.name}, "member": views.member(member) if member else None}


def _html(page: str) -> Response:
    return Response(page, headers=HTML)


def _query(name: str) -> str | None:
    return (bp.current_request.query_params or {}).get(name)


@bp.route("/app/{integration_id}")
@guarded
def home(integration_id: str):
    redirect, page = weblogin.landing(integration_id, _viewer(integration_id), _query("next"))
    if redirect:
        return Response("", status_code=302, headers={"Location": redirect, "Cache-Control": "no-store"})
    return _html(page)


@bp.route("/oauth/{integration_id}/callback")
@guarded
def oauth_callback(integration_id: str):
    if _query("error") or not _query("code"):
        raise Unauthorized(f"平台拒绝了登录 (the platform refused the sign-in: {_query('error') or 'no code'})")
    done = weblogin.finish_redirect(integration_id, _query("code"), _query("state") or "")
    return Response("", status_code=302, headers={"Location": done.next_path, "Set-Cookie": done.cookie})


@bp.route("/app/{integration_id}/login", methods=["POST"])
@guarded
def login(integration_id: str):
    request = parse(bp, CodeIn)
    done = weblogin.finish(integration_id, request.code, request.next)
    return Response({**_who(done.user, done.member), "next": done.next_path}, headers={"Set-Cookie": done.cookie})


@bp.route("/app/{integration_id}/link", methods=["POST"])
@guarded
def link(integration_id: str):
    user = _viewer(integration_id)
    if user is None:
        raise Unauthorized("请先在应用内登录 (sign in from the app first)")
    return _who(user, linking.link_by_mobile(integration_id, user, parse(bp, MobileIn).mobile))


@bp.route("/app/{integration_id}/incidents/{incident_id}")
@guarded
def incident_page(integration_id: str, incident_id: str):
    integrations.get(integration_id)
    user = _viewer(integration_id)
    member = linking.member_of(integration_id, user.user_id) if user else None
    return _html(pages.incident(integration_id, incidents.get(incident_id), member["name"] if member else ""))


@bp.route("/app/{integration_id}/incidents/{incident_id}/actions", methods=["POST"])
@guarded
def incident_action(integration_id: str, incident_id: str):
    member = weblogin.linked_member(integration_id, _viewer(integration_id))
    request = parse(bp, PageAction)
    source = integrations.get(integration_id)["platform"]
    return views.incident(actions.take(incident_id, request.action, member, source, request.minutes))


@bp.route("/{verify_file}")
@guarded
def domain_verification(verify_file: str):
    """WeCom's trusted-domain check: the WW_verify_*.txt file the admin entered, at the domain root."""
    content = integrations.verification_file(verify_file)
    return Response(content, headers={"Content-Type": "text/plain; charset=utf-8"})
