"""The web app: sign-in inside the client or by OAuth redirect, linking, the incident page."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.platforms import REGISTRY
from chalicelib.store import people
from tests.factories import member, stored_integration
from tests.fakes import FakeAdapter


class FakeOAuth(FakeAdapter):
    name = "fakeoauth"

    def authorize_url(self, state: str, redirect_uri: str) -> str | None:
        return f"https://login.example.com/authorize?state={state}&redirect_uri={redirect_uri}"

    def urls(self, base: str) -> dict[str, str]:
        return {"oauth_redirect": f"{base}/oauth/{self.integration_id}/callback"}


@pytest.fixture
def web(client, monkeypatch):
    monkeypatch.setitem(REGISTRY, "fake", FakeAdapter)
    monkeypatch.setitem(REGISTRY, "fakeoauth", FakeOAuth)
    stored_integration("fake", "int_js")
    stored_integration("fakeoauth", "int_oa")
    return client


def _cookie(response) -> str:
    return response.headers["Set-Cookie"].split(";")[0]


def test_in_client_sign_in_links_a_member_by_name_and_proven_mobile(web):
    member()
    page = web.http.get("/app/int_js")
    assert page.status_code == 200 and b'"platform": "fake"' in page.body
    response = web.http.post("/app/int_js/login", body=json.dumps({"code": "c1"}),
                             headers={"Content-Type": "application/json"})
    body = json.loads(response.body)
    assert body["member"]["id"] == "alice" and body["user"]["id"] == "u-alice"
    flags = response.headers["Set-Cookie"]
    assert all(flag in flags for flag in ("HttpOnly", "Secure", "SameSite=Lax"))
    assert people.binding_of_user("int_js", "u-alice")["member_id"] == "alice"


def test_unmatched_user_links_by_a_mobile_the_platform_confirms(web):
    member("bob", "Bob", "13800000002")
    login = web.http.post("/app/int_js/login", body=json.dumps({"code": "c1"}), headers={"Content-Type": "application/json"})
    assert json.loads(login.body)["member"] is None  # the fake user is "Alice", no member of that name
    headers = {"Content-Type": "application/json", "Cookie": _cookie(login)}
    refused = web.http.post("/app/int_js/link", body=json.dumps({"mobile": "13800000002"}), headers=headers)
    assert refused.status_code == 400  # that mobile resolves to u-bob, not to the signed-in u-alice
    member("carol", "Carol", "13800000001")
    linked = web.http.post("/app/int_js/link", body=json.dumps({"mobile": "13800000001"}), headers=headers)
    assert json.loads(linked.body)["member"]["id"] == "carol"


def test_linking_without_a_session_is_refused(web):
    response = web.http.post("/app/int_js/link", body=json.dumps({"mobile": "13800000001"}),
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 401


def test_oauth_sign_in_uses_a_one_time_state_and_returns_to_the_wanted_page(web):
    member()
    start = web.http.get("/app/int_oa?next=/app/int_oa/incidents/inc-9")
    assert start.status_code == 302
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    done = web.http.get(f"/oauth/int_oa/callback?code=c&state={state}")
    assert done.status_code == 302 and done.headers["Location"] == "/app/int_oa/incidents/inc-9"
    assert "HttpOnly" in done.headers["Set-Cookie"]
    assert web.http.get(f"/oauth/int_oa/callback?code=c&state={state}").status_code == 400  # used
    home = web.http.get("/app/int_oa", headers={"Cookie": _cookie(done)})
    assert home.status_code == 200 and "Alice".encode() in home.body


@pytest.mark.parametrize("query", ["code=c&state=forged", "code=c", "error=access_denied&state=x"])
def test_oauth_callback_refuses_bad_states_and_refusals(web, query):
    assert 400 <= web.http.get(f"/oauth/int_oa/callback?{query}").status_code < 500


def test_next_never_leaves_the_integrations_pages(web):
    start = web.http.get("/app/int_oa?next=https://evil.example.com/")
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    assert web.http.get(f"/oauth/int_oa/callback?code=c&state={state}").headers["Location"] == "/app/int_oa"


def test_incident_page_shows_state_and_lets_a_linked_person_act(web, admin_headers):
    member()
    body = {"version": 1, "incident": {"id": "inc-1", "title": "<script>x</script>", "severity": "info"}}
    web.http.post("/incidents", headers=admin_headers, body=json.dumps(body))
    anonymous = web.http.get("/app/int_js/incidents/inc-1")
    assert b"<script>x</script>" not in anonymous.body and b"&lt;script&gt;" in anonymous.body
    assert web.http.post("/app/int_js/incidents/inc-1/actions", body=json.dumps({"action": "ack"}),
                         headers={"Content-Type": "application/json"}).status_code == 401
    login = web.http.post("/app/int_js/login", body=json.dumps({"code": "c"}), headers={"Content-Type": "application/json"})
    acted = web.http.post("/app/int_js/incidents/inc-1/actions", body=json.dumps({"action": "ack"}),
                          headers={"Content-Type": "application/json", "Cookie": _cookie(login)})
    assert acted.status_code == 200 and json.loads(acted.body)["status"] == "acknowledged"
    assert json.loads(acted.body)["timeline"][-1]["by"] == "alice"
