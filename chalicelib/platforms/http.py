"""One ``requests`` Session per process, a timeout on every call, transport errors made explicit.

JSON bodies go out as compact UTF-8 (as the platforms' own SDKs send them), not ``requests``' ASCII
escapes: a Chinese character costs 3 bytes instead of 6, and the platforms' size limits count bytes
(Feishu's 30 KB card message, for one)."""
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
    body = kwargs.pop("json", None)
    if body is not None:
        kwargs["data"] = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        kwargs["headers"] = {**kwargs.get("headers", {}), "Content-Type": "application/json; charset=utf-8"}
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
