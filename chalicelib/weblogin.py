"""Signing a person into the web app through their platform, then linking them to a member.

Platforms that redirect (OAuth) get a one-time ``state`` bound to the integration and the page
the person wanted; platforms that sign in inside the client (DingTalk JSAPI) post a code instead.
Both end in a server-side session and an attempt to link the person automatically.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib import actions, integrations, linking, sessions
from chalicelib.config import settings
from chalicelib.errors import CallbackRejected, Unauthorized
from chalicelib.platforms.base import Adapter, PlatformUser
from chalicelib.store import ephemeral

STATE_SECONDS = 600
_PLAIN = re.compile(r"[!-~]+")  # printable ASCII: nothing that could split a Location header


@dataclass
class SignedIn:
    user: PlatformUser
    member: dict | None
    cookie: str
    next_path: str


def home_path(integration_id: str) -> str:
    return f"/app/{integration_id}"


def safe_next(integration_id: str, wanted: str | None) -> str:
    """Only this integration's own pages (a path with its query, no host) are places to return to."""
    home = home_path(integration_id)
    if not wanted or not _PLAIN.fullmatch(wanted) or "//" in wanted:
        return home
    parts = urlsplit(wanted)
    own = parts.path == home or parts.path.startswith(home + "/")
    return wanted if own and not (parts.scheme or parts.netloc) else home


def begin(integration_id: str, adapter: Adapter, wanted: str | None) -> str | None:
    """The platform's authorize URL carrying a fresh one-time state, or None for in-client sign-in."""
    state = secrets.token_hex(20)  # WeCom allows only [a-zA-Z0-9] in state
    redirect = adapter.urls(settings().public_base_url).get("oauth_redirect", "")
    url = adapter.authorize_url(state, redirect)
    if url:
        ephemeral.put(f"oauth#{state}", STATE_SECONDS, integration_id=integration_id,
                      next_path=safe_next(integration_id, wanted))
    return url


def linked_member(integration_id: str, user: PlatformUser | None) -> dict:
    """The member behind the signed-in person, or 401 telling them to open the app once."""
    member = linking.member_of(integration_id, user.user_id) if user else None
    if member is None:
        raise Unauthorized(actions.UNLINKED)
    return member


def finish_redirect(integration_id: str, code: str | None, state: str | None, refused: str | None) -> SignedIn:
    """The OAuth redirect: a code the platform gave, with a state that is ours, unused and for this integration."""
    if refused or not code:
        raise Unauthorized(f"平台拒绝了登录 (the platform refused the sign-in: {refused or 'no code'})")
    saved = ephemeral.take(f"oauth#{state}") if state else None
    if not saved or saved["integration_id"] != integration_id:
        raise CallbackRejected("登录已过期，请重新打开应用 (sign-in state is invalid or used; open the app again)")
    return finish(integration_id, code, saved["next_path"])


def finish(integration_id: str, code: str, next_path: str | None = None) -> SignedIn:
    adapter = integrations.adapter(integrations.get(integration_id))
    user = adapter.h5_user(code)
    return SignedIn(user=user, member=linking.auto_link(integration_id, user),
                    cookie=sessions.start(integration_id, user), next_path=safe_next(integration_id, next_path))
