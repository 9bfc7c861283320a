"""The web app people open from the platform's 工作台 (web_home) and the incident pages cards link to.

Pages answer HTML in the reader's language, errors included (a bad id is a 400 page, an unknown
one a 404 page); the endpoints the page script posts to answer JSON, and only to our own pages
(webguard). Every answer carries the headers that keep it out of frames and other sites' hands.
"""
from __future__ import annotations

import functools
import re
from typing import Callable

from chalice import Blueprint, Response
from pydantic import BaseModel, ValidationError

from chalicelib.common import lazy
from chalicelib.common.errors import AppError, InvalidInput, Unauthorized, readable
from chalicelib.common.ids import ID_PATTERN
from chalicelib.routes.common import UNAVAILABLE, aws, guarded, log, parse, raw_body

admin_views = lazy.module("chalicelib.flows.admin_views")
integrations = lazy.module("chalicelib.flows.integrations")
linking = lazy.module("chalicelib.flows.linking")
forms = lazy.module("chalicelib.web.forms")
guard = lazy.module("chalicelib.web.guard")
i18n = lazy.module("chalicelib.web.i18n")
incident_pages = lazy.module("chalicelib.web.incident_pages")
sessions = lazy.module("chalicelib.web.sessions")
signin = lazy.module("chalicelib.web.signin")
bp = Blueprint(__name__)
HTML = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Vary": "Accept-Language, Cookie"}
MAX_POST_BYTES = 4096  # a sign-in code, a mobile or an action: never more


def _viewer(integration_id: str):
    return sessions.current(bp.current_request.headers.get("cookie", ""), integration_id)


def _who(user, member: dict | None) -> dict:
    return {"user": {"id": user.user_id, "name": user.name}, "member": admin_views.member(member) if member else None}


def _query(model: type[BaseModel]):
    try:
        return model.model_validate(dict(bp.current_request.query_params or {}))
    except ValidationError as exc:
        raise InvalidInput(readable(exc, prefix="query: ")) from exc


def _answer(screen: incident_pages.Screen) -> Response:
    cookie = {"Set-Cookie": screen.cookie} if screen.cookie else {}
    if screen.redirect:
        return Response("", status_code=302, headers={
            "Location": screen.redirect, "Cache-Control": "no-store", **guard.BASE_HEADERS,
            "Content-Security-Policy": guard.NO_CONTENT_POLICY, **cookie})
    return Response(screen.html, status_code=screen.status, headers={
        **HTML, **guard.BASE_HEADERS, "Content-Security-Policy": screen.policy, **cookie})


def _valid_ids(ids: dict[str, str]) -> bool:
    """Ids in the path look like ids (which also keeps over-long ones away from the store's key limit)."""
    return all(re.fullmatch(ID_PATTERN, value) for value in ids.values())


def page(view: Callable) -> Callable:
    """A browser page: ids in the path checked, the reader's language chosen, errors shown as pages."""
    @functools.wraps(view)
    def wrapper(**ids: str):
        words = i18n.Words(i18n.choose(bp.current_request.headers.get("accept-language")))
        if not _valid_ids(ids):
            return _answer(incident_pages.error(InvalidInput("这不是有效的链接 (not a valid link)"), words))
        try:
            return _answer(view(words, **ids))
        except AppError as exc:
            return _answer(incident_pages.error(exc, words, ids.get("integration_id")))
        except aws.UNREACHABLE as exc:
            log.error("%s: AWS unavailable (%s)", view.__name__, type(exc).__name__)
            return _answer(incident_pages.error(UNAVAILABLE, words))  # the integration cannot be read either
    return wrapper


def posted(path: str) -> Callable:
    """Register an endpoint the page script posts to: ids checked, only JSON from our own pages, a small
    body, errors as JSON; the answer carries the same protective headers as the pages."""
    def register(view: Callable) -> Callable:
        @functools.wraps(view)
        def checked(**ids: str):
            if not _valid_ids(ids):
                raise InvalidInput("这不是有效的链接 (not a valid link)")
            guard.require_own_json(bp.current_request.headers)
            raw_body(bp, MAX_POST_BYTES)
            return view(**ids)

        answered = guarded(checked)

        @functools.wraps(view)
        def protected(**ids: str) -> Response:
            answer = answered(**ids)
            answer = answer if isinstance(answer, Response) else Response(answer)
            answer.headers = {**answer.headers, **guard.BASE_HEADERS,
                              "Content-Security-Policy": guard.NO_CONTENT_POLICY}
            return answer
        return bp.route(path, methods=["POST"])(protected)
    return register


@bp.route("/app/{integration_id}")
@page
def home(words: i18n.Words, integration_id: str):
    query = _query(forms.HomeQuery)
    return incident_pages.home(integration_id, _viewer(integration_id), words, query.next, query.pending)


@bp.route("/oauth/{integration_id}/callback")
@page
def oauth_callback(words: i18n.Words, integration_id: str):
    query = _query(forms.OAuthQuery)
    done = signin.finish_redirect(integration_id, query.code, query.state, query.error,
                                    bp.current_request.headers.get("cookie"))
    return incident_pages.Screen(redirect=done.next_path, cookie=done.cookie)


@bp.route("/app/{integration_id}/incidents")
@page
def my_incidents(words: i18n.Words, integration_id: str):
    return incident_pages.mine(integration_id, _viewer(integration_id), words)


@bp.route("/app/{integration_id}/incidents/{incident_id}")
@page
def incident_page(words: i18n.Words, integration_id: str, incident_id: str):
    view = _query(forms.IncidentQuery).view
    return incident_pages.incident(integration_id, incident_id, _viewer(integration_id), words, view)


@posted("/app/{integration_id}/login")
def login(integration_id: str):
    request = parse(bp, forms.CodeIn)
    done = signin.finish(integration_id, request.code, request.next)
    return Response({**_who(done.user, done.member), "next": done.next_path}, headers={"Set-Cookie": done.cookie})


@posted("/app/{integration_id}/link")
def link(integration_id: str):
    user = _viewer(integration_id)
    if user is None:
        raise Unauthorized("请先在应用内登录 (sign in from the app first)")
    return _who(user, linking.link_by_mobile(integration_id, user, parse(bp, forms.MobileIn).mobile))


@posted("/app/{integration_id}/incidents/{incident_id}/actions")
def incident_action(integration_id: str, incident_id: str):
    request = parse(bp, forms.PageAction)
    return admin_views.incident(incident_pages.act(integration_id, incident_id, _viewer(integration_id), request.action,
                                     request.minutes))


@posted("/app/{integration_id}/incidents/{incident_id}/war-room")
def incident_war_room(integration_id: str, incident_id: str):
    return incident_pages.open_war_room(integration_id, incident_id, _viewer(integration_id))


@bp.route("/{verify_file}")
@guarded
def domain_verification(verify_file: str):
    """WeCom's trusted-domain check: the WW_verify_*.txt file the admin entered, at the domain root."""
    content = integrations.verification_file(verify_file)
    return Response(content, headers={"Content-Type": "text/plain; charset=utf-8"})
