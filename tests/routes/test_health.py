"""GET /integrations/{id}/health, the schedule that stores each integration's summary, and GET /integrations
showing it, with the DingTalk simulator behind the integration."""
from __future__ import annotations

from app import app
from chalicelib.common import errors
from chalicelib.flows import health
from chalicelib.platforms import http
from chalicelib.platforms.dingtalk import api as dingtalk_api
from chalicelib.platforms.errortable import verdict
from chalicelib.store import health as health_store
from chalicelib.store import ledger
from devkit.simulators.dingtalk.simulator import DingTalkSimulator
from tests.routes.test_admin_api import Api, _integration_body, admin_client, api, created, sim  # noqa: F401


def test_a_working_integration_is_ok_and_says_what_it_checked(api: Api, created: dict) -> None:
    status, body = api("GET", f"/integrations/{created['id']}/health")
    assert status == 200 and body["state"] == "ok" and body["problems"] == [], body
    assert body["token"]["app"]["ok"] and body["token"]["oapi"]["ok"]
    assert body["token"]["app"]["cached_until"]  # the token saving fetched, as deliveries use it
    assert body["card_callback"]["registration"].startswith("registered at save")
    assert body["card_callback"]["last_seen"] is None and body["callbacks"] == {"events": None, "card": None}
    assert body["last_delivery"] is None and body["budget"]["integration_id"] == created["id"]


def test_a_rotated_secret_is_failing_with_dingtalks_code_and_hint(api: Api, created: dict, sim: DingTalkSimulator,
                                                                  monkeypatch) -> None:
    monkeypatch.setattr(sim.org, "client_secret", "rotated-in-the-console")
    status, body = api("GET", f"/integrations/{created['id']}/health")
    assert status == 200 and body["state"] == "failing"
    app, oapi = body["token"]["app"], body["token"]["oapi"]
    assert (app["ok"], app["code"], oapi["code"]) == (False, "invalidClientIdOrSecret", "40096")  # the sim's, as live
    assert app["hint"] and any("invalidClientIdOrSecret" in problem for problem in body["problems"])


def test_health_of_an_unknown_integration_is_404(api: Api) -> None:
    assert api("GET", "/integrations/int_nope/health")[0] == 404


def test_the_schedule_stores_the_summary_that_the_list_shows_without_calling_the_platform(
        api: Api, created: dict, monkeypatch) -> None:
    assert _listed(api, created["id"])["state"] == "unknown"
    events = api.client.events
    api.client.lambda_.invoke("check_health", events.generate_cw_event(  # the schedule, as EventBridge calls it
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    summary = _listed(api, created["id"])
    assert summary["state"] == "ok" and summary["checked_at"] and summary["problems"] == []
    refused = dingtalk_api.classify("Forbidden.AccessDenied.AccessTokenPermissionDenied", "no permission", 403)
    health_store.delivered(created["id"], {"state": "failed", **verdict(refused)})
    health.refresh_all()
    monkeypatch.setattr(http, "call", _no_platform_call)
    summary = _listed(api, created["id"])
    assert summary["state"] == "failing" and "AccessTokenPermissionDenied" in summary["problems"][0]
    assert health.summaries()[created["id"]] == summary  # what the operator CLI reads


def test_a_quota_spent_this_month_is_failing(api: Api, created: dict) -> None:
    status, _ = api("PATCH", f"/integrations/{created['id']}", {"settings": {"monthly_calls": 5}})
    assert status == 200
    for _ in range(5):  # the month's calls: the registrations saving made, then cards, past the budget
        ledger.count(created["id"], "POST /v1.0/card/instances/createAndDeliver")
    health.refresh_all()
    assert "monthly budget spent" in _listed(api, created["id"])["problems"][0]


def test_the_schedule_runs_every_ten_minutes() -> None:
    (schedule,) = [s for s in app.event_sources if getattr(s, "name", "") == "check_health"]
    assert schedule.schedule_expression == "rate(10 minutes)"


def _listed(api: Api, integration_id: str) -> dict:
    status, body = api("GET", "/integrations")
    assert status == 200
    return next(view["health"] for view in body if view["id"] == integration_id)


def _no_platform_call(*args, **kwargs):
    raise errors.PlatformUnavailable("test", "called", "GET /integrations must not call a platform")
