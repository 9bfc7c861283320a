"""Server-rendered pages: Jinja2 templates under templates/, autoescaped, built once per process.

Templates get ``t`` (the request's ``i18n.Words``) and the label tables; every value is escaped
by Jinja. Escaping does not make a link safe, so links that come from producers or platforms go
through ``web_url`` first. Each page gets a fresh nonce for its own script and style, and the
Content-Security-Policy that allows those and nothing else inline.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from chalicelib.core import wording
from chalicelib.web import guard, i18n

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Rendered:
    html: str
    policy: str  # the Content-Security-Policy the page needs to run


def web_url(url: str | None) -> str:
    """``url`` when it is an http(s) address, else "" (never a javascript: or data: link)."""
    return url if url and urlsplit(url).scheme in ("http", "https") else ""


_ENV = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=True, undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)
_ENV.filters.update(local_time=wording.local_time)
_ENV.globals.update(DELIVERY_STATES=i18n.DELIVERY_STATES, TIMELINE=i18n.TIMELINE, ACTORS=i18n.ACTORS, ROLES=i18n.ROLES,
                    LINKS=i18n.LINKS,
                    script=Markup((_HERE / "assets" / "app.js").read_text(encoding="utf-8")))


def render(template: str, words: i18n.Words, scripts: tuple[str, ...] = (), **context) -> Rendered:
    """The page ``template`` in the words' language; ``config`` (if given) is handed to the page script,
    ``scripts`` are platform scripts (http(s) URLs) the page loads before its own."""
    nonce = secrets.token_urlsafe(18)
    scripts = tuple(filter(None, map(web_url, scripts)))
    html = _ENV.get_template(template).render(t=words, nonce=nonce, scripts=scripts, **context)
    return Rendered(html=html, policy=guard.content_policy(nonce, scripts))
