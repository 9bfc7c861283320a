"""An integration's web app shows, lists and acts only on incidents whose cards went out through it.

The organisation on integration "int_js" must learn nothing of an incident paged only on "int_other"
(another organisation's platform), even when the producer also named people who are linked only there
or who do not exist: such a page answers exactly like an incident that does not exist.
"""
from __future__ import annotations

import json
import re

import pytest

from chalicelib.core.callback import Click, Intent
from chalicelib.flows import actions
from chalicelib.store import chats, people
from tests.factories import member, notification, stored_integration
from tests.fakes import FakeAdapter
from tests.routes.conftest import JSON, html, sign_in, to_group

ELSEWHERE = {
    "a group of the other integration": {"chats": [{"integration_id": "int_other", "chat_id": "ops"}]},
    "a member linked only there": {"members": ["bob"]},
    "a member who does not exist": {"members": ["nobody"]},
}


@pytest.fixture
def other_integration(web):
    """Another organisation's integration "int_other", its group "ops", and Bob linked only there."""
    stored_integration("fake", "int_other")
    chats.upsert("int_other", "ops", active=True, title="Payroll team ops")
    member("bob", "Bob", "13800000002")
    people.bind("bob", "int_other", "u-bob", "Bob", "2026-01-01T00:00:00Z")


@pytest.fixture
def other_org(web, other_integration):
    """Alice signed in on int_js, where she is linked; the headers carrying her session."""
    member()
    return sign_in(web)


def _page_elsewhere(web, admin_headers, incident_id: str, targets: dict) -> None:
    body = notification(incident_id, members=targets.get("members", ()), chats=targets.get("chats", ()),
                        title="Other org: payroll db down")
    assert web.http.post("/incidents", headers=admin_headers, body=json.dumps(body)).status_code == 202


def _incident(web, admin_headers, incident_id: str) -> dict:
    return json.loads(web.http.get(f"/incidents/{incident_id}", headers=admin_headers).body)


def _without_ids(response, *ids: str) -> str:
    """The answer with the incident ids (and each page's own nonce) blanked, to compare two answers."""
    text = re.sub(r'nonce="[^"]+"', "nonce", response.body.decode())
    for incident_id in ids:
        text = text.replace(incident_id, "ID")
    return text


@pytest.mark.parametrize("targets", ELSEWHERE.values(), ids=ELSEWHERE.keys())
def test_an_incident_paged_elsewhere_is_an_unknown_incident_here(web, admin_headers, other_org, targets):
    _page_elsewhere(web, admin_headers, "inc-other", targets)
    page = web.http.get("/app/int_js/incidents/inc-other", headers=other_org)
    unknown = web.http.get("/app/int_js/incidents/inc-never", headers=other_org)
    assert page.status_code == unknown.status_code == 404
    assert "payroll" not in html(page)
    assert _without_ids(page, "inc-other") == _without_ids(unknown, "inc-never")


@pytest.mark.parametrize("targets", ELSEWHERE.values(), ids=ELSEWHERE.keys())
def test_acting_on_an_incident_paged_elsewhere_is_refused_like_an_unknown_one(web, admin_headers, other_org,
                                                                              targets):
    _page_elsewhere(web, admin_headers, "inc-other", targets)
    headers = {**JSON, **other_org}
    for action in ({"action": "resolve"}, {"action": "ack"}, {"action": "silence", "minutes": 60}):
        refused = web.http.post("/app/int_js/incidents/inc-other/actions", body=json.dumps(action), headers=headers)
        unknown = web.http.post("/app/int_js/incidents/inc-never/actions", body=json.dumps(action), headers=headers)
        assert refused.status_code == unknown.status_code == 404
        assert _without_ids(refused, "inc-other") == _without_ids(unknown, "inc-never")
    incident = _incident(web, admin_headers, "inc-other")
    assert incident["status"] == "triggered" and incident["silenced_until"] is None
    assert [entry["by"] for entry in incident["timeline"] if entry["by"] == "alice"] == []


@pytest.mark.parametrize("targets", ELSEWHERE.values(), ids=ELSEWHERE.keys())
def test_no_war_room_for_an_incident_paged_elsewhere(web, admin_headers, other_org, targets):
    _page_elsewhere(web, admin_headers, "inc-other", targets)
    headers = {**JSON, **other_org}
    refused = web.http.post("/app/int_js/incidents/inc-other/war-room", body="{}", headers=headers)
    unknown = web.http.post("/app/int_js/incidents/inc-never/war-room", body="{}", headers=headers)
    assert refused.status_code == unknown.status_code == 404
    assert _without_ids(refused, "inc-other") == _without_ids(unknown, "inc-never")
    assert FakeAdapter.rooms == [] and not _incident(web, admin_headers, "inc-other").get("war_rooms")


def test_my_incidents_lists_only_incidents_paged_here(web, admin_headers, other_org):
    _page_elsewhere(web, admin_headers, "inc-other", ELSEWHERE["a group of the other integration"])
    _page_elsewhere(web, admin_headers, "inc-here", {"chats": to_group("int_js")})
    for incident_id in ("inc-other", "inc-here"):  # Alice acted on both (e.g. through the admin API)
        web.http.post(f"/incidents/{incident_id}/actions", headers=admin_headers,
                      body=json.dumps({"action": "ack", "by": "alice"}))
    page = html(web.http.get("/app/int_js/incidents", headers=other_org))
    assert "/app/int_js/incidents/inc-here" in page and "inc-other" not in page


def test_a_kept_card_click_on_an_incident_paged_elsewhere_is_not_applied(web, admin_headers, other_integration):
    _page_elsewhere(web, admin_headers, "inc-other", ELSEWHERE["a group of the other integration"])
    click = Click(user_id="u-alice", incident_id="inc-other", intent=Intent.resolve)  # nobody linked u-alice yet
    link = actions.from_click("int_js", "fake", click).link.removeprefix("https://duty.example.com")
    member()  # signing in now links Alice, and the kept click would run
    page = html(web.http.get(link, headers=sign_in(web)))
    assert "卡片上的操作未执行" in page and "payroll" not in page
    assert _incident(web, admin_headers, "inc-other")["status"] == "triggered"


def test_an_incident_paged_here_and_elsewhere_is_shown_and_acted_on_here(web, admin_headers, other_org):
    _page_elsewhere(web, admin_headers, "inc-both", {
        "chats": [*to_group("int_js"), *ELSEWHERE["a group of the other integration"]["chats"]], "members": ["bob"]})
    page = html(web.http.get("/app/int_js/incidents/inc-both", headers=other_org))
    deliveries = page.split("通知投递")[1]
    assert "值班群" in deliveries  # this organisation's group
    assert "Payroll team ops" not in deliveries and "Bob" not in deliveries  # the other organisation's people
    assert "Bob" not in page
    acted = web.http.post("/app/int_js/incidents/inc-both/actions", body=json.dumps({"action": "ack"}),
                          headers={**JSON, **other_org})
    assert acted.status_code == 200 and _incident(web, admin_headers, "inc-both")["status"] == "acknowledged"
