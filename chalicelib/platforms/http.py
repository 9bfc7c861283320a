"""One ``requests`` Session per process, a timeout on every call, transport errors made explicit."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import requests

from chalicelib.common.config import settings
from chalicelib.common.errors import PlatformUnavailable

_session = requests.Session()


@dataclass
class Answer:
    status: int
    data: dict
    headers: dict = field(default_factory=dict)


def call(platform: str, method: str, url: str, **kwargs) -> Answer:
    """Send one request; a timeout or connection failure raises PlatformUnavailable."""
    try:
        response = _session.request(method, url, timeout=settings().http_timeout, **kwargs)
    except requests.RequestException as exc:
        raise PlatformUnavailable(platform, "transport", type(exc).__name__) from exc
    try:
        data = response.json() if response.content else {}
    except json.JSONDecodeError:
        data = {}
    if not isinstance(data, dict):
        data = {"value": data}
    if response.status_code >= 500 and not data:
        raise PlatformUnavailable(platform, f"http{response.status_code}", response.reason or "server error")
    return Answer(response.status_code, data, dict(response.headers))
