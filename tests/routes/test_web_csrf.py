"""Other sites cannot act through a person's browser: state-changing requests are taken only as JSON
from our own pages, and pages refuse to be framed and run only their own (nonce'd) script and the
platform scripts they name."""
from __future__ import annotations

import json
import re

import pytest

from chalicelib.platforms import REGISTRY
from tests.factories import member, notification, stored_integration
from tests.fakes import FakeAdapter
from tests.routes.conftest import JSON, OWN_ORIGIN, html, sign_in, to_group

# -- state-changing requests: JSON from our own origin only ---------------------------------------------------


def _acted(web, admin_headers) -> str:
    return json.loads(web.http.get("/incidents/inc-1", headers=admin_headers).body)["status"]


@pytest.fixture
def incident(web, admin_headers):
    body = notification("inc-1", members=(), chats=to_group("int_js"))
    assert web.http.post("/incidents", headers=admin_headers, body=json.dumps(body)).status_code == 202
    member()
    return sign_in(web)


FOREIGN = [
    ({"Origin": "https://evil.example.com"}, "another site"),
    ({"Origin": "https://duty.example.com:8443"}, "another port of our host"),
    ({"Origin": "http://duty.example.com"}, "plain http"),
    ({"Origin": "https://sub.duty.example.com"}, "a subdomain"),
    ({"Origin": "null"}, "an opaque origin (sandboxed frame, data: URL)"),
    ({"Referer": "https://evil.example.com/duty.example.com/app/int_js"}, "no Origin, foreign Referer"),
    ({}, "neither Origin nor Referer"),
]


@pytest.mark.parametrize("content_type", [None, "application/json"], ids=["no content type", "json"])
@pytest.mark.parametrize("sender", [f[0] for f in FOREIGN], ids=[f[1] for f in FOREIGN])
def test_a_post_from_anywhere_but_our_pages_is_403_and_changes_nothing(web, admin_headers, incident, sender,
                                                                       content_type):
    headers = {**incident, **sender, **({"Content-Type": content_type} if content_type else {})}
    for path, body in (("/app/int_js/incidents/inc-1/actions", {"action": "resolve"}),
                       ("/app/int_js/incidents/inc-1/war-room", {}),
                       ("/app/int_js/link", {"mobile": "13800000001"})):
        refused = web.http.post(path, body=json.dumps(body), headers=headers)
        assert refused.status_code == 403, (path, refused.body)
        assert json.loads(refused.body)["error"] == "forbidden"
    assert _acted(web, admin_headers) == "triggered" and FakeAdapter.rooms == []


@pytest.mark.parametrize("sender", [f[0] for f in FOREIGN], ids=[f[1] for f in FOREIGN])
def test_the_in_client_sign_in_post_is_taken_only_from_our_pages(web, sender):
    """Login CSRF for the JSAPI sign-in: another page must not post its own code to sign a visitor in."""
    refused = web.http.post("/app/int_js/login", body=json.dumps({"code": "attackers-code"}),
                            headers={"Content-Type": "application/json", **sender})
    assert refused.status_code == 403 and "Set-Cookie" not in refused.headers


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_a_post_from_our_origin_must_be_json(web, admin_headers, incident, content_type):
    headers = {**incident, "Origin": OWN_ORIGIN, **({"Content-Type": content_type} if content_type is not None else {})}
    refused = web.http.post("/app/int_js/incidents/inc-1/actions", body=json.dumps({"action": "ack"}), headers=headers)
    assert refused.status_code == 415
    assert _acted(web, admin_headers) == "triggered"


@pytest.mark.parametrize("sender", [{"Origin": OWN_ORIGIN}, {"Origin": "HTTPS://DUTY.EXAMPLE.COM:443"},
                                    {"Referer": f"{OWN_ORIGIN}/app/int_js/incidents/inc-1"}],
                         ids=["Origin", "Origin, other spelling", "Referer when a client sends no Origin"])
def test_our_own_pages_still_act(web, admin_headers, incident, sender):
    headers = {**incident, **sender, "Content-Type": "application/json; charset=utf-8"}
    acted = web.http.post("/app/int_js/incidents/inc-1/actions", body=json.dumps({"action": "ack"}), headers=headers)
    assert acted.status_code == 200 and _acted(web, admin_headers) == "acknowledged"


# -- what every answer says about framing, sniffing, referrers and scripts -----------------------------------

JSAPI = "https://g.alicdn.com/dingding/dingtalk-jsapi/3.0.25/dingtalk.open.js"
PROTECTIVE = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


class FakeJsapi(FakeAdapter):
    """An in-client platform whose sign-in page loads the platform's JSAPI script from its own host."""

    name = "fakejsapi"

    def h5_page_config(self) -> dict[str, str]:
        return {"platform": "dingtalk", "jsapi_url": JSAPI}


def _policy(response) -> dict[str, list[str]]:
    directives = [d.strip().split() for d in response.headers["Content-Security-Policy"].split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


def _assert_protected(response) -> dict[str, list[str]]:
    assert {name: response.headers.get(name) for name in PROTECTIVE} == PROTECTIVE
    policy = _policy(response)
    assert policy["frame-ancestors"] == ["'none'"] and policy["default-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    return policy


def _assert_scripts_are_nonced(response, policy: dict[str, list[str]]) -> None:
    """Every script and style element carries the nonce the policy names; nothing else may run."""
    page = html(response)
    nonces = {f"'nonce-{n}'" for n in re.findall(r'<(?:script|style)[^>]*\bnonce="([^"]+)"', page)}
    assert len(nonces) == 1 and nonces <= set(policy["script-src"]) and nonces <= set(policy["style-src"])
    executable = [tag for tag in re.findall(r"<script\b[^>]*>", page) if 'type="application/json"' not in tag]
    assert executable and all("nonce=" in tag for tag in executable)
    assert len(re.findall(r"<style\b", page)) == len(re.findall(r'<style nonce="', page))
    assert "'unsafe-inline'" not in " ".join(policy["script-src"] + policy["style-src"])
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers (the policy would block them)


def test_every_page_is_protected_and_runs_only_its_own_script(web, admin_headers, incident):
    pages = [web.http.get(path, headers=incident) for path in (
        "/app/int_js", "/app/int_js/incidents", "/app/int_js/incidents/inc-1")]
    for response in pages:
        assert response.status_code == 200
        policy = _assert_protected(response)
        assert policy["connect-src"] == ["'self'"] and policy["form-action"] == ["'self'"]
        if "<script" in html(response) and "page-config" in html(response):
            _assert_scripts_are_nonced(response, policy)
    assert 'id="page-config"' in html(pages[2])  # the incident page runs the script: its buttons work


def test_error_pages_and_redirects_are_protected_too(web, incident):
    for response in (web.http.get("/app/int_js/incidents/inc-nope", headers=incident),  # 404 page
                     web.http.get("/app/int_js/incidents/%3Cx%3E", headers=incident),  # 400 page
                     web.http.get("/app/int_js/incidents/inc-1"),  # 302 to sign in
                     web.http.get("/app/int_oa"),  # 302 to the platform
                     web.http.get("/oauth/int_oa/callback?code=c&state=" + "0" * 40)):  # 400 page
        assert 300 <= response.status_code < 500
        _assert_protected(response)


def test_json_answers_are_protected_too(web, incident):
    for response in (web.http.post("/app/int_js/incidents/inc-1/actions", body='{"action": "ack"}',
                                   headers={**JSON, **incident}),
                     web.http.post("/app/int_js/link", body="{}", headers=JSON),  # 401
                     web.http.post("/app/int_js/link", body="{}", headers={**JSON, "Origin": "https://evil.example"})):
        _assert_protected(response)


def test_the_in_client_sign_in_page_may_load_the_platforms_script_and_nothing_else(web, monkeypatch):
    monkeypatch.setitem(REGISTRY, "fakejsapi", "tests.routes.test_web_csrf:FakeJsapi")
    stored_integration("fakejsapi", "int_dd")
    response = web.http.get("/app/int_dd")
    policy = _assert_protected(response)
    _assert_scripts_are_nonced(response, policy)
    assert "https://g.alicdn.com" in policy["script-src"] and "https://g.alicdn.com" in policy["connect-src"]
    nonce = re.search(r"'nonce-([^']+)'", " ".join(policy["script-src"])).group(1)
    assert f'<script nonce="{nonce}" src="{JSAPI}">' in html(response)
    other = web.http.get("/app/int_dd")
    assert _policy(other)["script-src"] != policy["script-src"]  # a fresh nonce on every page
