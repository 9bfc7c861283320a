"""Web-app sessions: a random id in an HttpOnly, Secure, SameSite cookie; the data stays server-side."""
from __future__ import annotations

import re
import secrets

from chalicelib.core.callback import PlatformUser
from chalicelib.store import ephemeral

COOKIE = "db_session"
LIFETIME = 12 * 3600
_ID = re.compile(r"[A-Za-z0-9_-]{32}")  # what token_urlsafe(24) makes; anything else never reaches the store
_MAX_TRIED = 3  # a header stuffed with session cookies costs no more than a few reads


def start(integration_id: str, user: PlatformUser) -> str:
    """A new session; returns its Set-Cookie value.

    HttpOnly keeps it from scripts, Secure from plain HTTP (browsers allow it on localhost).
    SameSite is Lax, not Strict: the OAuth sign-in comes back from the platform's host, and a
    Strict cookie would be withheld on that redirect chain, sending the person round in a loop.
    Lax still keeps it off cross-site POSTs; webguard refuses same-site ones from other origins.
    """
    session_id = secrets.token_urlsafe(24)
    ephemeral.put(f"session#{session_id}", LIFETIME, integration_id=integration_id,
                  user_id=user.user_id, name=user.name)
    return f"{COOKIE}={session_id}; Max-Age={LIFETIME}; Path=/app/; HttpOnly; Secure; SameSite=Lax"


def cookies(cookie_header: str | None, name: str) -> list[str]:
    """Every value of cookie ``name`` in a Cookie header (a browser may hold one per path or domain)."""
    found = (part.strip().partition("=") for part in (cookie_header or "").split(";"))
    return [value for key, _, value in found if key == name and value]


def current(cookie_header: str | None, integration_id: str) -> PlatformUser | None:
    """The user of this integration's session named by the request's cookie, if any."""
    for session_id in list(filter(_ID.fullmatch, cookies(cookie_header, COOKIE)))[:_MAX_TRIED]:
        item = ephemeral.get(f"session#{session_id}")
        if item and item["integration_id"] == integration_id:
            return PlatformUser(user_id=item["user_id"], name=item.get("name", ""))
    return None
