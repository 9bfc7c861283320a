"""The admin API through the real routes, with the DingTalk simulator behind integrations."""
from __future__ import annotations

import json
import re
from typing import Any, Iterator

import pytest

from app import app
from chalicelib import platforms
from chalicelib.common import clock, config, sealing
from chalicelib.flows import integrations
from chalicelib.store import ephemeral
from chalicelib.store import integrations as integration_store
from devkit.simulators.dingtalk.simulator import DingTalkSimulator
from tests.fuzz import dynamo_limits
from tests.routes.conftest import serving

ADMIN_PREFIXES = ("/integrations", "/members", "/incidents", "/sources")
ADMIN_ROUTES = sorted((method, path) for path, methods in app.routes.items() if path.startswith(ADMIN_PREFIXES)
                      for method in methods)
URL_NAMES = {"events", "web_home", "pc_home", "cool_app_home", "card_callback"}


@pytest.fixture(scope="module")
def sim() -> Iterator[DingTalkSimulator]:
    yield from serving(DingTalkSimulator(qps_limit=1000))


def _integration_body(sim: DingTalkSimulator, **credentials: str) -> dict[str, Any]:
    org = sim.org
    return {"platform": "dingtalk", "name": "钉钉值班",
            "credentials": {"corp_id": org.corp_id, "agent_id": org.agent_id, "client_id": org.client_id,
                            "client_secret": org.client_secret, "aes_key": org.aes_key, "token": org.token,
                            **credentials},
            "settings": {"card_template_id": org.card_template_id, "api_base": sim.api_base,
                         "oapi_base": sim.oapi_base}}


class Api:
    """The chalice test client with the admin bearer; answers (status, parsed JSON or raw text)."""

    def __init__(self, client: Any, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers
        self.last_text = ""

    def __call__(self, method: str, path: str, body: Any = None, raw: str | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = getattr(self.client.http, method.lower())(path, headers=self.headers, body=data)
        self.last_text = response.body.decode("utf-8") if response.body else ""
        try:
            return response.status_code, json.loads(self.last_text) if self.last_text else None
        except json.JSONDecodeError:
            return response.status_code, self.last_text


@pytest.fixture
def admin_client(client) -> Any:
    """The chalice client, with the test settings read first: during a request the client patches
    the environment with .chalice/config.json's dev stage (ADMIN_TOKEN=REPLACE-ME, another prefix)."""
    config.settings()
    return client


@pytest.fixture
def api(admin_client, admin_headers) -> Api:
    return Api(admin_client, admin_headers)


@pytest.fixture
def created(api: Api, sim: DingTalkSimulator) -> dict[str, Any]:
    status, body = api("POST", "/integrations", _integration_body(sim))
    assert status == 201, body
    return body


def _stored_credentials(integration_id: str) -> dict[str, str]:
    return sealing.unseal(integration_store.get(integration_id)["credentials"])


# -- auth -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES, ids=[f"{m} {p}" for m, p in ADMIN_ROUTES])
def test_every_admin_route_refuses_a_missing_or_wrong_bearer(admin_client, method: str, path: str) -> None:
    concrete = re.sub(r"\{[^}]+\}", "x1", path)
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Bearer "},
                    {"Authorization": "test-admin-token-but-longer"}, {"Authorization": "test-admin-token"},
                    {"Authorization": "Basic test-admin-token"}):
        response = getattr(admin_client.http, method.lower())(
            concrete, headers={"Content-Type": "application/json", **headers}, body="{}")
        assert response.status_code == 401, (headers, response.body)
        assert json.loads(response.body)["error"] == "unauthorized"


def test_admin_routes_cover_the_whole_admin_api() -> None:
    assert {("POST", "/integrations"), ("PATCH", "/integrations/{integration_id}"),
            ("POST", "/incidents/{incident_id}/actions"),
            ("POST", "/incidents/{incident_id}/war-room")} <= set(ADMIN_ROUTES)


# -- integrations ---------------------------------------------------------------------------------

def test_create_integration_answers_201_with_urls_masked_credentials_and_egress_ips(
        api: Api, sim: DingTalkSimulator, monkeypatch) -> None:
    status, body = api("POST", "/integrations", _integration_body(sim))
    assert status == 201
    assert set(body["urls"]) == URL_NAMES
    assert all(url.startswith("https://duty.example.com/") and body["id"] in url for url in body["urls"].values())
    assert body["egress_ips"] == []  # the chalice client applies the dev stage's EGRESS_IPS=""
    monkeypatch.setenv("EGRESS_IPS", "203.0.113.7, 203.0.113.8")
    assert integrations.view(integration_store.get(body["id"]))["egress_ips"] == ["203.0.113.7", "203.0.113.8"]
    assert all(value.startswith("****") for value in body["credentials"].values())
    callback = sim.state()["callbacks"][f"dutybridge_{body['id']}"]
    assert callback["callbackUrl"] == body["urls"]["card_callback"]
    org = sim.org
    for secret in (org.client_secret, org.aes_key, org.token, org.corp_id, org.client_id, callback["apiSecret"]):
        assert secret not in api.last_text


def test_create_integration_with_a_wrong_secret_is_422_with_dingtalks_code(api: Api, sim: DingTalkSimulator) -> None:
    status, body = api("POST", "/integrations", _integration_body(sim, client_secret="wrong-secret-0000"))
    assert status == 422
    assert "invalidClientIdOrSecret" in json.dumps(body)
    assert "wrong-secret-0000" not in api.last_text
    assert api("GET", "/integrations") == (200, [])


@pytest.mark.parametrize(("body", "fields"), [
    ({"platform": "dingtalk"}, ("name", "credentials")),
    ({"platform": "dingtalk", "name": "x", "credentials": {"corp_id": "ding1"}},
     ("agent_id", "client_id", "client_secret", "aes_key", "token")),
])
def test_create_integration_with_missing_fields_is_400_naming_them(api: Api, sim: DingTalkSimulator,
                                                                    body: dict, fields: tuple[str, ...]) -> None:
    before = sim.call_count("/oauth2/accessToken")
    status, answer = api("POST", "/integrations", body)
    assert status == 400
    assert all(field in answer["message"] for field in fields)
    assert sim.call_count("/oauth2/accessToken") == before


def test_an_edition_the_platform_does_not_have_is_400_listing_its_editions(api: Api, sim: DingTalkSimulator) -> None:
    before = sim.call_count("/oauth2/accessToken")
    body = _integration_body(sim)
    status, answer = api("POST", "/integrations", {**body, "settings": {**body["settings"], "edition": "bogus"}})
    assert status == 400 and answer["message"] == (
        "settings.edition: DingTalk has no edition 'bogus'; one of: standard, professional, exclusive")
    assert api("GET", "/integrations") == (200, []) and sim.call_count("/oauth2/accessToken") == before
    status, created = api("POST", "/integrations", {**body, "settings": {**body["settings"], "edition": "exclusive"}})
    assert status == 201 and created["settings"]["edition"] == "exclusive"


@pytest.mark.parametrize("platform", ["slack", "DingTalk", ""])
def test_create_integration_for_an_unknown_platform_is_400(api: Api, sim: DingTalkSimulator, platform: str) -> None:
    status, body = api("POST", "/integrations", {**_integration_body(sim), "platform": platform})
    assert status == 400, body
    assert "platform" in body["message"]


@pytest.mark.parametrize("platform", platforms.names())
def test_every_accepted_platform_name_has_an_adapter_so_bad_credentials_are_400(api: Api, platform: str) -> None:
    status, body = api("POST", "/integrations", {"platform": platform, "name": "x", "credentials": {}})
    assert status == 400, body
    assert body["message"].startswith("credentials/settings:")


def test_list_integrations_shows_the_created_one_masked(api: Api, created: dict) -> None:
    status, listed = api("GET", "/integrations")
    assert status == 200 and [i["id"] for i in listed] == [created["id"]]
    assert listed[0]["credentials"] == created["credentials"]


def test_patch_name_only_keeps_credentials_and_asks_nothing_of_dingtalk(api: Api, sim: DingTalkSimulator,
                                                                        created: dict) -> None:
    stored = _stored_credentials(created["id"])
    before = sim.call_count("/oauth2/accessToken")
    status, body = api("PATCH", f"/integrations/{created['id']}", {"name": "SRE 钉钉"})
    assert status == 200 and body["name"] == "SRE 钉钉"
    assert body["credentials"] == created["credentials"]
    assert _stored_credentials(created["id"]) == stored
    assert sim.call_count("/oauth2/accessToken") == before


def test_patch_with_a_wrong_secret_is_422_and_changes_nothing(api: Api, created: dict) -> None:
    stored = integration_store.get(created["id"])
    status, body = api("PATCH", f"/integrations/{created['id']}",
                       {"name": "renamed", "credentials": {"client_secret": "wrong-secret-0000"}})
    assert status == 422 and "invalidClientIdOrSecret" in json.dumps(body)
    assert integration_store.get(created["id"]) == stored
    assert api("GET", f"/integrations/{created['id']}")[1]["name"] == "钉钉值班"
    platforms.adapter_for(stored).check_credentials()


def test_a_change_forgets_the_tokens_of_each_family_the_adapter_declares(api: Api, fake_platform, monkeypatch) -> None:
    monkeypatch.setattr(fake_platform, "token_families", ("app", "extra"))
    for family in ("app", "extra", "other"):
        ephemeral.put(f"token#int_fake#{family}", 3600)
    assert api("PATCH", "/integrations/int_fake", {"settings": {"digest_minutes": 5}})[0] == 200
    assert [ephemeral.get(f"token#int_fake#{family}") is None for family in ("app", "extra", "other")] == [
        True, True, False]


def test_delete_integration_is_204_then_404(api: Api, created: dict) -> None:
    path = f"/integrations/{created['id']}"
    assert api("DELETE", path)[0] == 204
    assert api("GET", path)[0] == 404
    assert api("DELETE", path)[0] == 404
    assert api("GET", "/integrations") == (200, [])


def test_chats_of_a_new_integration_are_empty_and_of_an_unknown_one_404(api: Api, created: dict) -> None:
    assert api("GET", f"/integrations/{created['id']}/chats") == (200, [])
    assert api("GET", "/integrations/int_unknown/chats")[0] == 404


# -- members and linking --------------------------------------------------------------------------

def test_duplicate_member_is_409(api: Api) -> None:
    member = {"id": "alice", "name": "Alice", "email": "alice@example.com", "mobile": "13800000001"}
    assert api("POST", "/members", member)[0] == 201
    assert api("POST", "/members", {**member, "name": "Other"})[0] == 409
    assert api("GET", "/members/alice")[1]["name"] == "Alice"


@pytest.mark.parametrize(("field", "value"), [("email", "not-an-email"), ("email", "a b@example.com"),
                                              ("mobile", "call me"), ("mobile", "12")])
def test_member_with_a_bad_email_or_mobile_is_400_naming_the_field(api: Api, field: str, value: str) -> None:
    status, body = api("POST", "/members", {"id": "bob", "name": "Bob", field: value})
    assert status == 400 and field in body["message"]
    assert api("GET", "/members/bob")[0] == 404


def test_link_members_binds_everyone_dingtalk_resolves_by_mobile(api: Api, created: dict) -> None:
    for member_id, name, mobile in (("m-zhang", "张伟", "13800000001"), ("m-li", "李娜", "13800000002"),
                                    ("m-wang", "王芳", "13800000003")):
        assert api("POST", "/members", {"id": member_id, "name": name, "mobile": mobile})[0] == 201
    link = f"/integrations/{created['id']}/link-members"
    assert api("POST", link) == (200, {"linked": 3, "already": 0, "not_found": []})
    bindings = api("GET", "/members/m-li")[1]["bindings"]
    assert [(b["integration_id"], b["user_id"]) for b in bindings] == [(created["id"], "lina")]
    assert api("POST", link) == (200, {"linked": 0, "already": 3, "not_found": []})


def test_link_members_reports_members_dingtalk_does_not_know(api: Api, created: dict) -> None:
    api("POST", "/members", {"id": "m-zhang", "name": "张伟", "mobile": "13800000001"})
    api("POST", "/members", {"id": "m-ghost", "name": "Ghost", "mobile": "13999999999"})
    api("POST", "/members", {"id": "m-nomobile", "name": "No Mobile", "email": "n@example.com"})
    status, body = api("POST", f"/integrations/{created['id']}/link-members")
    assert (status, body) == (200, {"linked": 1, "already": 0, "not_found": ["m-ghost", "m-nomobile"]})
    assert api("GET", "/members/m-ghost")[1]["bindings"] == []


def test_link_members_and_member_lookup_on_unknown_ids_are_404(api: Api) -> None:
    assert api("POST", "/integrations/int_unknown/link-members")[0] == 404
    assert api("GET", "/members/nobody")[0] == 404


# -- incidents ------------------------------------------------------------------------------------

def _incident(api: Api, incident_id: str = "inc-1", **fields: Any) -> tuple[int, Any]:
    incident = {"id": incident_id, "title": "db down", "severity": "critical", **fields}
    return api("POST", "/incidents", {"version": 1, "incident": incident})


def test_unknown_incident_is_404(api: Api) -> None:
    assert api("GET", "/incidents/unknown")[0] == 404


def test_incident_with_an_invalid_severity_is_400(api: Api) -> None:
    status, body = _incident(api, severity="apocalyptic")
    assert status == 400 and "severity" in body["message"]
    assert api("GET", "/incidents/inc-1")[0] == 404


def test_body_over_256_kib_is_413(api: Api) -> None:
    padding = "x" * (256 * 1024)
    body = json.dumps({"version": 1, "incident": {"id": "inc-big", "title": "t", "severity": "info",
                                                   "description": padding}})
    assert api("POST", "/incidents", raw=body)[0] == 413
    assert api("GET", "/incidents/inc-big")[0] == 404


def test_action_by_an_unknown_member_is_404_and_changes_nothing(api: Api) -> None:
    assert _incident(api)[0] == 202
    assert api("POST", "/incidents/inc-1/actions", {"action": "ack", "by": "nobody"})[0] == 404
    assert api("GET", "/incidents/inc-1")[1]["status"] == "triggered"


def test_invalid_action_is_400(api: Api) -> None:
    _incident(api)
    api("POST", "/members", {"id": "alice", "name": "Alice"})
    status, body = api("POST", "/incidents/inc-1/actions", {"action": "escalate", "by": "alice"})
    assert status == 400 and "action" in body["message"]
    assert api("GET", "/incidents/inc-1")[1]["status"] == "triggered"


def test_silence_with_minutes_sets_silenced_until(api: Api) -> None:
    _incident(api)
    api("POST", "/members", {"id": "alice", "name": "Alice"})
    status, body = api("POST", "/incidents/inc-1/actions", {"action": "silence", "minutes": 30, "by": "alice"})
    assert status == 200 and body["status"] == "triggered"
    assert abs(clock.parse_iso(body["silenced_until"]) - (clock.now() + 30 * 60)) < 5
    assert body["timeline"][-1]["by"] == "alice"


def test_the_bearer_scheme_is_case_insensitive(admin_client) -> None:
    response = admin_client.http.get("/integrations", headers={"Authorization": "bearer test-admin-token"})
    assert response.status_code == 200


# -- war rooms ------------------------------------------------------------------------------------

@pytest.fixture
def war_room_ready(api: Api, sim: DingTalkSimulator) -> dict[str, Any]:
    """A DingTalk integration with 场景群 configured, its people linked, and inc-1 paged to two of them."""
    body = _integration_body(sim)
    body["settings"].update(scene_group_template_id=sim.org.scene_group_template_id,
                            scene_group_robot_code=sim.org.scene_group_robot_code)
    status, view = api("POST", "/integrations", body)
    assert status == 201, view
    for member_id, mobile in (("m-zhang", "13800000001"), ("m-li", "13800000002")):
        api("POST", "/members", {"id": member_id, "name": member_id, "mobile": mobile})
    assert api("POST", f"/integrations/{view['id']}/link-members")[1]["linked"] == 2
    assert api("POST", "/incidents", {"version": 1, "incident": {"id": "inc-1", "title": "db down",
                                                                 "severity": "critical"},
                                      "targets": {"members": ["m-zhang", "m-li"]}})[0] == 202
    return view


def test_war_room_is_created_once_then_found(api: Api, sim: DingTalkSimulator, war_room_ready: dict) -> None:
    request = {"integration_id": war_room_ready["id"]}
    status, room = api("POST", "/incidents/inc-1/war-room", request)
    assert status == 201 and room["integration_id"] == war_room_ready["id"] and room["incident_id"] == "inc-1"
    group = sim.directory.groups[room["chat_id"]]
    assert group.scene and sorted(group.members) == ["lina", "zhangwei"] and group.title == room["title"]
    assert api("POST", "/incidents/inc-1/war-room", {**request, "by": "m-li"}) == (200, room)
    incident = api("GET", "/incidents/inc-1")[1]
    assert [e["action"] for e in incident["timeline"]].count("war_room") == 1
    assert {"kind": "chat", "target": f"scene:{room['chat_id']}"}.items() <= next(
        d for d in incident["deliveries"] if d["kind"] == "chat").items()
    assert [c["chat_id"] for c in api("GET", f"/integrations/{war_room_ready['id']}/chats")[1]] == \
        [f"scene:{room['chat_id']}"]


def test_war_room_refusals_are_4xx(api: Api, sim: DingTalkSimulator, created: dict, war_room_ready: dict) -> None:
    groups = len(sim.directory.groups)
    assert api("POST", "/incidents/unknown/war-room", {"integration_id": war_room_ready["id"]})[0] == 404
    assert api("POST", "/incidents/inc-1/war-room", {"integration_id": "int_unknown"})[0] == 404
    assert api("POST", "/incidents/inc-1/war-room", {"integration_id": war_room_ready["id"], "by": "nobody"})[0] == 404
    status, body = api("POST", "/incidents/inc-1/war-room", {})
    assert status == 400 and "integration_id" in body["message"]
    status, body = api("POST", "/incidents/inc-1/war-room", {"integration_id": created["id"]})
    assert (status, body["error"]) == (422, "not_configured")
    assert "场景群" in body["message"] and "scene_group_template_id" in body["message"]
    api("POST", "/members", {"id": "alice", "name": "Alice"})
    api("POST", "/incidents/inc-1/actions", {"action": "resolve", "by": "alice"})
    assert api("POST", "/incidents/inc-1/war-room", {"integration_id": war_room_ready["id"]})[0] == 409
    assert len(sim.directory.groups) == groups


def test_war_room_platform_errors_are_422_with_the_platform_code(api: Api, war_room_ready: dict) -> None:
    api("PATCH", f"/integrations/{war_room_ready['id']}", {"settings": {"scene_group_template_id": "retired"}})
    status, body = api("POST", "/incidents/inc-1/war-room", {"integration_id": war_room_ready["id"]})
    assert (status, body["platform_code"]) == (422, "groupTemplate.notFound")


def test_war_room_without_qyapi_chat_manage_names_the_permission(api: Api, sim: DingTalkSimulator,
                                                                   war_room_ready: dict) -> None:
    sim.org.permissions.discard("qyapi_chat_manage")
    try:
        status, body = api("POST", "/incidents/inc-1/war-room", {"integration_id": war_room_ready["id"]})
    finally:
        sim.org.permissions.add("qyapi_chat_manage")
    assert (status, body["platform_code"]) == (422, "Forbidden.AccessDenied.AccessTokenPermissionDenied")
    assert api("POST", "/incidents/inc-1/war-room", {"integration_id": war_room_ready["id"]})[0] == 201


def test_auto_war_rooms_need_a_scene_template(api: Api, sim: DingTalkSimulator) -> None:
    body = _integration_body(sim)
    body["settings"]["war_room_auto_critical"] = True
    status, answer = api("POST", "/integrations", body)
    assert status == 400 and "scene_group_template_id" in answer["message"]


# -- endpoints, settings, ids and bodies that would have been 500s ------------------------------------

def test_moving_an_endpoint_needs_the_current_secret_in_the_same_request(api: Api, sim: DingTalkSimulator,
                                                                        created: dict) -> None:
    path, stored = f"/integrations/{created['id']}", integration_store.get(created["id"])
    for credentials in ({}, {"client_secret": "guess"}, {"client_secret": sim.org.client_secret + "x"}):
        for setting in ("api_base", "oapi_base", "jsapi_url"):
            status, body = api("PATCH", path, {"settings": {setting: "https://collector.evil.example"},
                                               "credentials": credentials})
            assert (status, body["error"]) == (403, "forbidden"), (setting, credentials)
            assert setting in body["message"] and "credentials.client_secret" in body["message"]
            assert sim.org.client_secret not in api.last_text
    assert integration_store.get(created["id"]) == stored
    status, body = api("PATCH", path, {"settings": {"jsapi_url": "https://cdn.example.com/dingtalk.open.js"},
                                       "credentials": {"client_secret": sim.org.client_secret}})
    assert status == 200 and body["settings"]["jsapi_url"] == "https://cdn.example.com/dingtalk.open.js"
    assert api("PATCH", path, {"settings": {"card_template_id": "other.schema"}})[0] == 200  # no endpoint: no secret


def test_quota_admins_take_a_list_of_member_ids(api: Api, sim: DingTalkSimulator) -> None:
    body = _integration_body(sim)
    body["settings"].update(quota_admins=["m-zhang", "m-li"], low_at=0.8)
    status, view = api("POST", "/integrations", body)
    assert status == 201, view
    assert view["settings"]["quota_admins"] == ["m-zhang", "m-li"] and view["settings"]["low_at"] == 0.8
    status, view = api("PATCH", f"/integrations/{view['id']}", {"settings": {"quota_admins": ["m-wang"]}})
    assert status == 200 and view["settings"]["quota_admins"] == ["m-wang"]
    for wrong in ("m-wang", ["not an id!"], [3]):
        status, answer = api("PATCH", f"/integrations/{view['id']}", {"settings": {"quota_admins": wrong}})
        assert status == 400 and "quota_admins" in answer["message"], (wrong, answer)


def test_creating_a_member_that_exists_says_it_exists(api: Api) -> None:
    member = {"id": "alice", "name": "Alice"}
    assert api("POST", "/members", member)[0] == 201
    status, body = api("POST", "/members", {**member, "name": "Other"})
    assert (status, body["error"]) == (409, "already_exists")
    assert body["message"] == "member alice already exists"


def test_deliveries_of_a_deleted_integration_still_say_where_they_went(api: Api, created: dict) -> None:
    api("POST", "/members", {"id": "m-zhang", "name": "张伟", "mobile": "13800000001"})
    api("POST", f"/integrations/{created['id']}/link-members")
    api("POST", "/incidents", {"version": 1, "incident": {"id": "inc-1", "title": "db down", "severity": "critical"},
                               "targets": {"members": ["m-zhang"]}})
    (live,) = api("GET", "/incidents/inc-1")[1]["deliveries"]
    assert (live["platform"], live["integration_name"], live["integration_deleted"]) == ("dingtalk", "钉钉值班", False)
    assert api("DELETE", f"/integrations/{created['id']}")[0] == 204
    (gone,) = api("GET", "/incidents/inc-1")[1]["deliveries"]
    assert (gone["platform"], gone["integration_name"], gone["integration_deleted"]) == ("dingtalk", "钉钉值班", True)


def test_bodies_nested_deeper_than_the_bound_are_400(api: Api) -> None:
    for raw in ("[" * 60_000, '{"version": 1, "incident": ' + '{"a":' * 5000 + "1" + "}" * 5001):
        status, body = api("POST", "/incidents", raw=raw)
        assert status == 400 and "nests deeper" in body["message"]


def test_ids_no_key_can_hold_are_404_not_500(api: Api, monkeypatch) -> None:
    dynamo_limits.enforce(monkeypatch)
    huge = "x" * 3000
    for method, path in (("GET", f"/integrations/{huge}"), ("PATCH", f"/integrations/{huge}"),
                         ("DELETE", f"/integrations/{huge}"), ("GET", f"/integrations/{huge}/quota"),
                         ("GET", f"/members/{huge}"), ("GET", f"/incidents/{huge}"),
                         ("POST", f"/integrations/{huge}/link-members")):
        assert api(method, path, {})[0] == 404, (method, path)
    _incident(api)
    assert api("POST", "/incidents/inc-1/actions", {"action": "ack", "by": huge})[0] == 400
    assert api("POST", f"/incidents/{huge}/actions", {"action": "ack", "by": "alice"})[0] == 404


@pytest.mark.parametrize("started_at", ["9999-12-31T23:59:59-05:00", "1969-07-20T20:17:00Z", "2026-13-45T99:99:00Z",
                                        "0001-01-01T00:00:00+14:00"])
def test_a_started_at_no_page_can_show_is_400(api: Api, started_at: str) -> None:
    status, body = _incident(api, started_at=started_at)
    assert status == 400 and "started_at" in body["message"]
    assert api("GET", "/incidents/inc-1")[0] == 404


def test_a_silence_beyond_seven_days_is_400_from_the_api(api: Api) -> None:
    _incident(api)
    api("POST", "/members", {"id": "alice", "name": "Alice"})
    status, body = api("POST", "/incidents/inc-1/actions", {"action": "silence", "minutes": 1_000_000, "by": "alice"})
    assert status == 400 and "minutes" in body["message"]


@pytest.mark.parametrize("member_id", ["", "x" * 3000, "a b"])
def test_a_notification_targeting_a_member_id_no_key_can_hold_is_400(api: Api, member_id: str) -> None:
    incident = {"id": "inc-1", "title": "t", "severity": "info"}
    status, body = api("POST", "/incidents", {"version": 1, "incident": incident,
                                              "targets": {"members": [member_id]}})
    assert status == 400 and "targets.members" in body["message"]
    assert api("GET", "/incidents/inc-1")[0] == 404


def test_an_integration_the_platform_opened_is_set_up_by_its_first_save_then_guarded(api: Api, monkeypatch) -> None:
    """WeCom third-party: the suite opens the integration, the admin's first save claims it with its endpoints;
    afterwards it holds no secret of its own, so its endpoints no longer move."""
    from chalicelib.platforms.base import Opening
    from chalicelib.platforms.wecom.adapter import WeCom
    from chalicelib.platforms.wecom.suite import integration_id
    monkeypatch.setattr(WeCom, "check_credentials", lambda self: None)
    integrations.open_assigned(Opening("wecom", integration_id("wwcorp01"), "示例公司", {"corp_id": "wwcorp01"},
                                       {"mode": "third_party", "api_base": "https://qyapi.example.com"}))
    claim = {"platform": "wecom", "name": "示例", "credentials": {"corp_id": "wwcorp01"},
             "settings": {"mode": "third_party", "oauth_base": "https://open.example.com"}}
    status, view = api("POST", "/integrations", claim)
    assert status == 201 and view["settings"]["oauth_base"] == "https://open.example.com"
    again = {**claim, "settings": {"mode": "third_party", "api_base": "https://collector.evil.example"}}
    assert api("POST", "/integrations", again)[0] == 403
    status, body = api("PATCH", f"/integrations/{view['id']}", {"settings": {"oauth_base": "https://evil.example"}})
    assert status == 403 and "oauth_base" in body["message"]
    assert integrations.get(view["id"])["settings"]["oauth_base"] == "https://open.example.com"
