"""The web app's test setup: an in-client (JSAPI-like) and an OAuth integration of fake platforms."""
from __future__ import annotations

import json
from typing import Iterator, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.platforms import REGISTRY
from chalicelib.store import chats
from devkit.simulators.base import PlatformSimulator
from tests.factories import stored_integration
from tests.fakes import FakeAdapter

Simulator = TypeVar("Simulator", bound=PlatformSimulator)
OWN_ORIGIN = "https://duty.example.com"  # PUBLIC_BASE_URL's origin in the tests
JSON = {"Content-Type": "application/json", "Origin": OWN_ORIGIN}  # what the page script's fetch sends


class FakeOAuth(FakeAdapter):
    name = "fakeoauth"

    def authorize_url(self, state: str, redirect_uri: str) -> str | None:
        return f"https://login.example.com/authorize?state={state}&redirect_uri={redirect_uri}"

    def urls(self, base: str) -> dict[str, str]:
        return {"oauth_redirect": f"{base}/oauth/{self.integration_id}/callback"}


def serving(simulator: Simulator) -> Iterator[Simulator]:
    """Run ``simulator`` for a module's tests (``yield from`` it in a module-scoped fixture)."""
    server, _ = simulator.start()
    yield simulator
    server.shutdown()
    server.server_close()


@pytest.fixture
def admin_call(client, admin_headers, fake_platform):
    """``call(method, path, body=None)`` → (status, JSON answer) through the admin API, the fake platform set up."""
    def call(method: str, path: str, body: object = None) -> tuple[int, dict]:
        response = getattr(client.http, method.lower())(path, headers=admin_headers,
                                                        body=None if body is None else json.dumps(body))
        return response.status_code, json.loads(response.body) if response.body else {}

    return call


@pytest.fixture
def web(client, monkeypatch):
    FakeAdapter.reset()
    monkeypatch.setitem(REGISTRY, "fake", "tests.fakes:FakeAdapter")
    monkeypatch.setitem(REGISTRY, "fakeoauth", "tests.routes.conftest:FakeOAuth")
    stored_integration("fake", "int_js")
    stored_integration("fakeoauth", "int_oa")
    for integration_id in ("int_js", "int_oa"):
        chats.upsert(integration_id, "chat-1", active=True, title="值班群")
    return client


def to_group(*integration_ids: str) -> list[dict]:
    """Notification targets: the group chat "chat-1" of each integration (its web app then shows the incident)."""
    return [{"integration_id": integration_id, "chat_id": "chat-1"} for integration_id in integration_ids]


def cookie_of(response) -> str:
    return response.headers["Set-Cookie"].split(";")[0]


def sign_in(web, integration_id: str = "int_js") -> dict[str, str]:
    """Sign in as the fake platform's user (u-alice, "Alice"); returns headers carrying the session."""
    response = web.http.post(f"/app/{integration_id}/login", body=json.dumps({"code": "c"}), headers=JSON)
    assert response.status_code == 200
    return {"Cookie": cookie_of(response)}


def oauth_start(web, path: str, headers: dict | None = None) -> tuple[str, dict[str, str]]:
    """Open ``path`` unsigned in on the OAuth integration: the state sent to the platform, and the
    headers with which this browser comes back (its login cookie)."""
    start = web.http.get(path, headers=headers or {})
    assert start.status_code == 302, start.body
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    return state, {"Cookie": cookie_of(start)}


def html(response) -> str:
    assert response.headers["Content-Type"].startswith("text/html")
    return response.body.decode()
