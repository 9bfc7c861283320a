"""Signing a person into the web app through their platform, then linking them to a member.

Platforms that redirect (OAuth) get a one-time ``state`` bound to the integration, the page the
person wanted and the browser that asked: a random secret goes into an HttpOnly cookie sent only to
the OAuth callback, its hash is kept with the state, and the callback signs nobody in without it.
So a state (with the attacker's own code) cannot be replayed into someone else's browser to sign
them in as the attacker (login CSRF). Platforms that sign in inside the client (DingTalk JSAPI)
post a code instead, which webguard accepts only from our own pages. Both end in a server-side
session and an attempt to link the person automatically.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib.common.config import settings
from chalicelib.common.errors import CallbackRejected, Unauthorized
from chalicelib.core.callback import PlatformUser
from chalicelib.flows import actions, integrations, linking
from chalicelib.platforms import adapter_for
from chalicelib.platforms.base import Adapter
from chalicelib.store import ephemeral
from chalicelib.web import sessions

STATE_SECONDS = 600
LOGIN_COOKIE = "db_login_"  # + the state's first characters: one per sign-in under way, so two tabs both finish
_STATE = re.compile(r"[0-9a-f]{40}")  # what begin() makes (WeCom allows only [a-zA-Z0-9] in state)
_PLAIN = re.compile(r"[!-~]+")  # printable ASCII: nothing that could split a Location header


@dataclass
class Redirect:
    """Where to send the browser to sign in, and the cookie that ties the sign-in to this browser."""

    url: str
    cookie: str


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


def begin(integration_id: str, adapter: Adapter, wanted: str | None) -> Redirect | None:
    """The platform's authorize URL carrying a fresh one-time state, or None for in-client sign-in."""
    state = secrets.token_hex(20)
    redirect = adapter.urls(settings().public_base_url).get("oauth_redirect", "")
    url = adapter.authorize_url(state, redirect)
    if not url:
        return None
    browser = secrets.token_urlsafe(32)
    ephemeral.put(f"oauth#{state}", STATE_SECONDS, integration_id=integration_id,
                  next_path=safe_next(integration_id, wanted), browser=_digest(browser))
    # Lax, not Strict: the platform's sign-in page sends the browser back here from its own site.
    cookie = (f"{LOGIN_COOKIE}{state[:12]}={browser}; Max-Age={STATE_SECONDS}; Path={urlsplit(redirect).path}; "
              "HttpOnly; Secure; SameSite=Lax")
    return Redirect(url=url, cookie=cookie)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def linked_member(integration_id: str, user: PlatformUser | None) -> dict:
    """The member behind the signed-in person, or 401 telling them to open the app once."""
    member = linking.member_of(integration_id, user.user_id) if user else None
    if member is None:
        raise Unauthorized(actions.UNLINKED)
    return member


def finish_redirect(integration_id: str, code: str | None, state: str | None, refused: str | None,
                    cookie_header: str | None) -> SignedIn:
    """The OAuth redirect: a code the platform gave, with a state that is ours, unused, for this integration
    and started in this very browser (its login cookie). The state is used up whatever the outcome."""
    if refused or not code:
        raise Unauthorized(f"平台拒绝了登录 (the platform refused the sign-in: {refused or 'no code'})")
    saved = ephemeral.take(f"oauth#{state}") if state and _STATE.fullmatch(state) else None
    if not saved or saved["integration_id"] != integration_id or not _same_browser(saved, state, cookie_header):
        raise CallbackRejected("登录已过期，请重新打开应用 (sign-in state is invalid or used; open the app again)")
    return finish(integration_id, code, saved["next_path"])


def _same_browser(saved: dict, state: str, cookie_header: str | None) -> bool:
    expected = saved.get("browser", "")
    return any(hmac.compare_digest(_digest(value), expected)
               for value in sessions.cookies(cookie_header, f"{LOGIN_COOKIE}{state[:12]}"))


def finish(integration_id: str, code: str, next_path: str | None = None) -> SignedIn:
    adapter = adapter_for(integrations.get(integration_id))
    user = adapter.h5_user(code)
    return SignedIn(user=user, member=linking.auto_link(integration_id, user),
                    cookie=sessions.start(integration_id, user), next_path=safe_next(integration_id, next_path))
