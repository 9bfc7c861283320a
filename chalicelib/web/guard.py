"""What the web app asks of a browser's request, and the headers that keep its pages where they belong.

A SameSite=Lax session cookie stays off cross-site POSTs, but not off POSTs from another page of
the same site (a sibling subdomain or port), and clients that ignore the attribute send it
everywhere. So every request that changes something must come from a page of ``PUBLIC_BASE_URL``'s
origin and carry JSON, which no other origin can send without a CORS preflight this app never
answers.
"""
from __future__ import annotations

from typing import Iterable, Mapping
from urllib.parse import urlsplit

from chalicelib.common.config import settings
from chalicelib.common.errors import AppError

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Referrer-Policy same-origin: our own POSTs keep their Referer (the fallback when a client drops
# Origin); links to producers' pages and the platforms' sign-in get none.
BASE_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
NO_CONTENT_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL (default port left out), else None."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    shown = f":{port}" if port and port != _DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{parts.hostname}{shown}"


def require_own_json(headers: Mapping[str, str]) -> None:
    """Refuse a state-changing request that is not JSON sent by one of our own pages.

    The browser's ``Origin`` decides; a client that leaves it out still sends ``Referer`` (see
    BASE_HEADERS). Neither, or another origin: 403.
    """
    sender = headers.get("origin") or headers.get("referer")
    if origin_of(sender) != origin_of(settings().public_base_url):
        raise Forbidden("请从应用页面操作 (requests must come from the app's own pages)")
    media_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("请求须为 JSON (the body must be sent as application/json)")


def content_policy(nonce: str, script_urls: Iterable[str] = ()) -> str:
    """The Content-Security-Policy of a page: only its own nonce'd script and style, plus the hosts
    of the platform scripts it loads (DingTalk's JSAPI, which may also call its own host)."""
    hosts = " ".join(dict.fromkeys(o for o in map(origin_of, script_urls) if o))
    scripts = f"'nonce-{nonce}' {hosts}".strip()
    connect = f"'self' {hosts}".strip()
    return (f"default-src 'none'; script-src {scripts}; style-src 'nonce-{nonce}'; connect-src {connect}; "
            "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
