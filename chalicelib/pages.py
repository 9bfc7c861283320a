"""Server-rendered pages: Jinja2 templates under templates/, autoescaped, built once per process.

Templates get ``t`` (the request's ``i18n.Words``) and the label tables; every value is escaped
by Jinja. Escaping does not make a link safe, so links that come from producers or platforms go
through ``web_url`` first.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from chalicelib import cards, i18n

_HERE = Path(__file__).parent


def web_url(url: str | None) -> str:
    """``url`` when it is an http(s) address, else "" (never a javascript: or data: link)."""
    return url if url and urlsplit(url).scheme in ("http", "https") else ""


_ENV = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=True, undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)
_ENV.filters.update(local_time=cards.local_time)
_ENV.globals.update(DELIVERY_STATES=i18n.DELIVERY_STATES, TIMELINE=i18n.TIMELINE, ACTORS=i18n.ACTORS, ROLES=i18n.ROLES,
                    script=Markup((_HERE / "assets" / "app.js").read_text(encoding="utf-8")))


def render(template: str, words: i18n.Words, **context) -> str:
    """The page ``template`` in the words' language; ``config`` (if given) is handed to the page script."""
    return _ENV.get_template(template).render(t=words, **context)
