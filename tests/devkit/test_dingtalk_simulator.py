"""The DingTalk simulator must refuse what DingTalk refuses, with DingTalk's own codes and bodies."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Iterator

import pytest
import requests

from chalicelib.platforms.msgcrypt import MsgCrypt
from devkit.simulators.dingtalk.simulator import DingTalkSimulator
from devkit.simulators.http import Request, Response, Router, json_response, serve, text_response

TOKEN_HEADER = "x-acs-dingtalk-access-token"


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class FakeApp:
    """A tiny stand-in for dutybridge: answers event pushes and card callbacks, records what came in."""

    def __init__(self, crypt: MsgCrypt, api_secret: str = "") -> None:
        self.crypt, self.api_secret = crypt, api_secret
        self.event_mode = "good"  # "good" | "plain" | "wrong-owner"
        self.card_reply: dict[str, Any] = {}
        self.events: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.clicks: list[tuple[dict[str, str], dict[str, Any]]] = []
        router = Router()
        router.add("POST", "/events", self.on_event)
        router.add("POST", "/card", self.on_card)
        self.server, _ = serve(router)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def on_event(self, request: Request) -> Response:
        query, encrypt = request.query, request.json()["encrypt"]
        self.crypt.verify(query["signature"], query["timestamp"], query["nonce"], encrypt)
        self.events.append((query, json.loads(self.crypt.decrypt(encrypt))))
        if self.event_mode == "plain":
            return text_response(200, "success")
        crypt = self.crypt if self.event_mode == "good" else MsgCrypt(self.crypt.token, "a" * 43, "other-app")
        timestamp, nonce, reply = str(int(time.time() * 1000)), "nonce123", crypt.encrypt("success")
        return json_response(200, {"msg_signature": crypt.sign(timestamp, nonce, reply), "timeStamp": timestamp,
                                   "nonce": nonce, "encrypt": reply})

    def on_card(self, request: Request) -> Response:
        timestamp = request.header("x-ddpaas-signature-timestamp") or ""
        expected = base64.b64encode(hmac.new(self.api_secret.encode(), timestamp.encode(), hashlib.sha256).digest())
        if request.header("x-ddpaas-signature") != expected.decode():
            return json_response(401, {"error": "bad signature"})
        self.clicks.append((request.headers, request.json()))
        return json_response(200, self.card_reply)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> Iterator[DingTalkSimulator]:
    simulator = DingTalkSimulator(now=clock, outbound_timeout=5.0)
    server, _ = simulator.start()
    yield simulator
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(sim: DingTalkSimulator) -> Iterator[FakeApp]:
    fake = FakeApp(MsgCrypt(sim.org.token, sim.org.aes_key, sim.org.client_id), api_secret="demo-api-secret")
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def new_token(sim: DingTalkSimulator) -> str:
    body = {"appKey": sim.org.client_id, "appSecret": sim.org.client_secret}
    return requests.post(f"{sim.api_base}/v1.0/oauth2/accessToken", json=body).json()["accessToken"]


def old_token(sim: DingTalkSimulator) -> str:
    query = {"appkey": sim.org.client_id, "appsecret": sim.org.client_secret}
    return requests.get(f"{sim.oapi_base}/gettoken", params=query).json()["access_token"]


def api(sim: DingTalkSimulator, method: str, path: str, token: str | None, body: Any) -> requests.Response:
    headers = {TOKEN_HEADER: token} if token else {}
    return requests.request(method, sim.api_base + path, headers=headers, json=body)


def oapi(sim: DingTalkSimulator, path: str, token: str | None, body: Any) -> dict[str, Any]:
    response = requests.post(sim.oapi_base + path, params={"access_token": token} if token else {}, json=body)
    assert response.status_code == 200  # old APIs report every error inside an HTTP 200 body
    return response.json()


def control(sim: DingTalkSimulator, path: str, body: Any = None) -> requests.Response:
    return requests.post(f"{sim.base_url}/dingtalk/_sim/{path}", json=body or {})


def state(sim: DingTalkSimulator) -> dict[str, Any]:
    return requests.get(f"{sim.base_url}/dingtalk/_sim/state").json()


def group_id(sim: DingTalkSimulator, title: str = "SRE 值班群") -> str:
    return next(g.open_conversation_id for g in sim.directory.groups.values() if g.title == title)


def card(sim: DingTalkSimulator, out_track_id: str, space: str, **extra: Any) -> dict[str, Any]:
    body = {"cardTemplateId": sim.org.card_template_id, "outTrackId": out_track_id,
            "openSpaceId": f"dtv1.card//{space}",
            "cardData": {"cardParamMap": {"title": "CPU high", "severity": "critical", "can_ack": "true"}},
            "imGroupOpenDeliverModel": {"robotCode": sim.org.client_id},
            "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": sim.org.client_id}}
    return {**body, **extra}


def deliver(sim: DingTalkSimulator, token: str, body: dict[str, Any]) -> requests.Response:
    return api(sim, "POST", "/v1.0/card/instances/createAndDeliver", token, body)


def assert_new_error(response: requests.Response, status: int, code: str) -> None:
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code), body
    assert set(body) == {"code", "message", "requestid"}


# --- tokens -------------------------------------------------------------------------------------


def test_new_token_is_reused_extended_and_refused_after_expiry(sim: DingTalkSimulator, clock: Clock) -> None:
    first = new_token(sim)
    clock.advance(7000)
    assert new_token(sim) == first  # same token while valid, life extended by the second request
    clock.advance(7000)
    register = {"callbackRouteKey": "k", "callbackUrl": "http://x/card"}
    assert api(sim, "POST", "/v1.0/card/callbacks/register", first, register).status_code == 200
    clock.advance(7201)
    assert_new_error(api(sim, "POST", "/v1.0/card/callbacks/register", first, register), 400, "InvalidAuthentication")
    assert new_token(sim) != first


def test_bad_credentials_get_dingtalks_errors(sim: DingTalkSimulator) -> None:
    response = requests.post(f"{sim.api_base}/v1.0/oauth2/accessToken",
                             json={"appKey": sim.org.client_id, "appSecret": "x"})
    assert_new_error(response, 400, "invalidClientIdOrSecret")
    assert response.json()["message"] == "无效的clientId或者clientSecret"
    bad = requests.get(f"{sim.oapi_base}/gettoken", params={"appkey": "ding-nope", "appsecret": "x"})
    assert (bad.status_code, bad.json()) == (200, {"errcode": 40096, "errmsg": "不合法的appKey或appSecret"})
    assert requests.get(f"{sim.oapi_base}/gettoken").json()["errcode"] == 40035


def test_the_per_organisation_token_answers_only_for_the_org_the_app_runs_in(sim: DingTalkSimulator) -> None:
    """获取应用的 Access Token: snake_case answer; documented 400s for a bad client or grant type; the live
    HTTP 500 unknownError for a corpId that is not the app's organisation."""
    def corp_token(corp_id: str, **changes: str) -> requests.Response:
        body = {"client_id": sim.org.client_id, "client_secret": sim.org.client_secret,
                "grant_type": "client_credentials", **changes}
        return requests.post(f"{sim.api_base}/v1.0/oauth2/{corp_id}/token", json=body)

    answer = corp_token(sim.org.corp_id)
    assert answer.status_code == 200 and set(answer.json()) == {"access_token", "expires_in"}
    assert answer.json()["expires_in"] == 7200
    register = {"callbackRouteKey": "k", "callbackUrl": "http://x/card"}
    assert api(sim, "POST", "/v1.0/card/callbacks/register", answer.json()["access_token"], register).ok
    assert_new_error(corp_token("dingnotthisorg"), 500, "unknownError")
    assert corp_token("dingnotthisorg").json()["message"] == "未知错误"
    assert_new_error(corp_token(sim.org.corp_id, client_secret="x"), 400, "invalid.client")
    assert_new_error(corp_token(sim.org.corp_id, grant_type="password"), 400, "unsupported.grant.type")


def test_old_token_answer_and_expiry(sim: DingTalkSimulator, clock: Clock) -> None:
    query = {"appkey": sim.org.client_id, "appsecret": sim.org.client_secret}
    body = requests.get(f"{sim.oapi_base}/gettoken", params=query).json()
    assert body["errcode"] == 0 and body["errmsg"] == "ok" and body["expires_in"] == 7200
    clock.advance(7201)
    refused = oapi(sim, "/topapi/v2/user/getbymobile", body["access_token"], {"mobile": "13800000001"})
    assert (refused["errcode"], refused["sub_code"]) == (88, "42001")


def test_token_families_and_missing_tokens(sim: DingTalkSimulator) -> None:
    new, old = new_token(sim), old_token(sim)
    assert_new_error(api(sim, "POST", "/v1.0/card/callbacks/register", old, {}), 400, "InvalidAuthentication")
    assert_new_error(api(sim, "POST", "/v1.0/card/callbacks/register", None, {}), 400,
                     "AuthenticationFailed.MissingParameter")
    wrong = oapi(sim, "/topapi/v2/user/getbymobile", new, {"mobile": "13800000001"})
    assert wrong["errcode"] == 88 and wrong["sub_code"] == "40014" and wrong["sub_msg"] == "不合法的access_token"
    assert oapi(sim, "/topapi/v2/user/getbymobile", None, {"mobile": "1"})["sub_code"] == "40000"


# --- card callback registration ---------------------------------------------------------------


def test_callback_registration_rules(sim: DingTalkSimulator) -> None:
    token, path = new_token(sim), "/v1.0/card/callbacks/register"
    ok = api(sim, "POST", path, token, {"callbackRouteKey": "db", "callbackUrl": "http://a/card", "apiSecret": "s"})
    assert ok.json() == {"success": True, "result": {"callbackUrl": "http://a/card", "apiSecret": "s"}}
    assert_new_error(api(sim, "POST", path, token, {"callbackUrl": "http://a"}), 400, "param.callbackRouteKeyEmpty")
    assert_new_error(api(sim, "POST", path, token, {"callbackRouteKey": "db"}), 400, "param.callbackUrlEmpty")
    again = {"callbackRouteKey": "db", "callbackUrl": "http://b/card"}
    assert_new_error(api(sim, "POST", path, token, again), 500, "param.callbackRouteKeyExist")
    assert api(sim, "POST", path, token, {**again, "forceUpdate": True}).status_code == 200
    assert state(sim)["callbacks"]["db"]["callbackUrl"] == "http://b/card"


# --- createAndDeliver / update -------------------------------------------------------------------


def test_deliver_to_group_and_robot_chat(sim: DingTalkSimulator) -> None:
    token, cid = new_token(sim), group_id(sim)
    assert control(sim, f"groups/{cid}/install-cool-app", {"operator": "zhangwei"}).json()["pushed"] is False
    response = deliver(sim, token, card(sim, "alert-1", f"IM_GROUP.{cid};IM_ROBOT.lina",
                                        privateData={"lina": {"cardParamMap": {"notice": "未关联应用"}}}))
    body = response.json()
    assert response.status_code == 200 and body["success"] is True
    results = body["result"]["deliverResults"]
    assert [(r["spaceType"], r["spaceId"], r["success"]) for r in results] == [
        ("IM_GROUP", cid, True), ("IM_ROBOT", "lina", True)]
    assert all(r["carrierId"] for r in results)
    cards = state(sim)["cards"]
    assert cards[f"IM_GROUP.{cid}"][0]["privateData"]["lina"] == {"notice": "未关联应用"}
    assert cards["IM_ROBOT.lina"][0]["cardParamMap"]["title"] == "CPU high"
    assert sim.call_count("createAndDeliver") == 1


def test_group_delivery_needs_cool_app_and_the_app_robot(sim: DingTalkSimulator) -> None:
    token, cid = new_token(sim), group_id(sim)
    results = deliver(sim, token, card(sim, "a1", f"IM_GROUP.{cid}")).json()["result"]["deliverResults"]
    assert results[0]["success"] is False and results[0]["errorMsg"]
    control(sim, f"groups/{cid}/install-cool-app")
    wrong_robot = card(sim, "a2", f"IM_GROUP.{cid}", imGroupOpenDeliverModel={"robotCode": "dingother"})
    assert deliver(sim, token, wrong_robot).json()["result"]["deliverResults"][0]["success"] is False
    assert f"IM_GROUP.{cid}" not in state(sim)["cards"]


@pytest.mark.parametrize("change, code", [
    ({"cardTemplateId": "nope.schema"}, "param.templateNotExist"),
    ({"cardTemplateId": ""}, "param.cardTemplateIdEmpty"),
    ({"outTrackId": ""}, "param.outTrackIdEmpty"),
    ({"cardData": {"cardParamMap": {"count": 3}}}, "param.invalid"),
    ({"cardData": {"cardParamMap": {"k" * 101: "v"}}}, "param.invalid"),
    ({"cardData": {"cardParamMap": {"description": "x" * 1025}}}, "param.invalid"),
    ({"openSpaceId": ""}, "param.openSpaceIdEmpty"),
    ({"openSpaceId": "IM_ROBOT.lina"}, "param.openSpaceIdInvalid"),
    ({"openSpaceId": "dtv1.card//IM_SINGLE.cid1=="}, "param.openSpaceIdInvalid"),
    ({"openSpaceId": "dtv1.card//IM_ROBOT.ghost"}, "param.userIdNotExist"),
    ({"privateData": {"ghost": {"cardParamMap": {"notice": "x"}}}}, "param.userIdNotExist"),
    ({"callbackType": "HTTP", "callbackRouteKey": "unregistered"}, "param.invalid"),
    ({"imRobotOpenDeliverModel": None}, "param.openDeliverModelEmpty"),
    ({"imRobotOpenDeliverModel": {"spaceType": "IM_GROUP", "robotCode": "x"}}, "param.openDeliverModelError"),
])
def test_create_and_deliver_validation(sim: DingTalkSimulator, change: dict[str, Any], code: str) -> None:
    response = deliver(sim, new_token(sim), card(sim, "alert-v", "IM_ROBOT.lina", **change))
    assert_new_error(response, 400, code)
    assert response.json()["message"] == code
    assert state(sim)["rejections"][-1]["code"] == code


def test_out_track_id_is_single_use(sim: DingTalkSimulator) -> None:
    token = new_token(sim)
    assert deliver(sim, token, card(sim, "alert-2", "IM_ROBOT.lina")).status_code == 200
    assert_new_error(deliver(sim, token, card(sim, "alert-2", "IM_ROBOT.wangfang")), 400, "param.cardAlreadyExist")


def test_update_merges_by_key_or_replaces(sim: DingTalkSimulator) -> None:
    token = new_token(sim)
    deliver(sim, token, card(sim, "alert-3", "IM_ROBOT.lina"))
    merge = {"outTrackId": "alert-3", "cardData": {"cardParamMap": {"status": "acknowledged"}},
             "privateData": {"lina": {"cardParamMap": {"notice": "hi"}}},
             "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True}}
    assert api(sim, "PUT", "/v1.0/card/instances", token, merge).json() == {"success": True, "result": True}
    shown = state(sim)["cards"]["IM_ROBOT.lina"][0]
    assert shown["cardParamMap"] == {"title": "CPU high", "severity": "critical", "can_ack": "true",
                                     "status": "acknowledged"}
    assert shown["privateData"]["lina"] == {"notice": "hi"} and shown["updateCount"] == 1
    replace = {"outTrackId": "alert-3", "cardData": {"cardParamMap": {"status": "resolved"}}}
    api(sim, "PUT", "/v1.0/card/instances", token, replace)
    assert state(sim)["cards"]["IM_ROBOT.lina"][0]["cardParamMap"] == {"status": "resolved"}
    assert_new_error(api(sim, "PUT", "/v1.0/card/instances", token, {**replace, "outTrackId": "nope"}),
                     400, "param.cardNotExist")
    assert_new_error(api(sim, "PUT", "/v1.0/card/instances", token, {"outTrackId": "alert-3"}),
                     400, "param.cardDataAndPrivateDataBothEmpty")


# --- people: mobile lookup and H5 login ---------------------------------------------------------


def test_getbymobile_hit_and_miss(sim: DingTalkSimulator) -> None:
    token = old_token(sim)
    hit = oapi(sim, "/topapi/v2/user/getbymobile", token, {"mobile": "13800000002"})
    assert hit["errcode"] == 0 and hit["result"] == {"userid": "lina", "exclusive_account_userid_list": []}
    miss = oapi(sim, "/topapi/v2/user/getbymobile", token, {"mobile": "13900000000"})
    assert (miss["errcode"], miss["errmsg"]) == (60121, "找不到该用户")


def test_auth_code_is_single_use_and_expires(sim: DingTalkSimulator, clock: Clock) -> None:
    token = old_token(sim)
    code = control(sim, "open-app", {"userId": "wangfang"}).json()["authCode"]
    user = oapi(sim, "/topapi/v2/user/getuserinfo", token, {"code": code})
    assert user["errcode"] == 0 and user["result"]["userid"] == "wangfang" and user["result"]["name"] == "王芳"
    assert set(user["result"]) == {"userid", "unionid", "name", "sys", "sys_level", "device_id", "associated_unionid"}
    reused = oapi(sim, "/topapi/v2/user/getuserinfo", token, {"code": code})
    assert (reused["errcode"], reused["errmsg"]) == (40078, "不存在的临时授权码")
    stale = sim.mint_auth_code("lina")
    clock.advance(301)
    token = old_token(sim)
    assert oapi(sim, "/topapi/v2/user/getuserinfo", token, {"code": stale})["errcode"] == 40078
    assert control(sim, "open-app", {"userId": "lina", "corpId": "dingother"}).status_code == 400


# --- console: event URL handshake and pushed events --------------------------------------------


def test_check_url_handshake_saves_url_only_when_reply_is_right(sim: DingTalkSimulator, app: FakeApp) -> None:
    app.event_mode = "plain"
    refused = control(sim, "console/event-url", {"url": app.url + "/events"}).json()
    assert (refused["ok"], refused["errcode"]) == (False, 71009)
    assert app.events[-1][1] == {"EventType": "check_url"}
    app.event_mode = "wrong-owner"
    assert control(sim, "console/event-url", {"url": app.url + "/events"}).json()["errcode"] == 71009
    assert state(sim)["eventUrl"] is None
    app.event_mode = "good"
    saved = control(sim, "console/event-url", {"url": app.url + "/events"}).json()
    assert saved["ok"] is True and state(sim)["eventUrl"] == app.url + "/events"
    query = app.events[-1][0]
    assert set(query) == {"signature", "timestamp", "nonce"} and len(query["timestamp"]) == 13


def test_unreachable_event_url_is_71012(sim: DingTalkSimulator) -> None:
    result = control(sim, "console/event-url", {"url": "http://127.0.0.1:9/events"}).json()
    assert (result["ok"], result["errcode"]) == (False, 71012)
    assert control(sim, "console/event-url", {"url": "ftp://x"}).json()["errcode"] == 71011


def test_group_changes_push_encrypted_events(sim: DingTalkSimulator, app: FakeApp) -> None:
    control(sim, "console/event-url", {"url": app.url + "/events"})
    cid = group_id(sim, "数据库告警群")
    installed = control(sim, f"groups/{cid}/install-cool-app", {"operator": "lina"}).json()
    assert installed["ok"] is True and installed["status"] == 200
    event = app.events[-1][1]
    assert event["EventType"] == "im_cool_app_install"
    assert {k: event[k] for k in ("CorpId", "robotCode", "openConversationId", "operator", "coolAppCode")} == {
        "CorpId": sim.org.corp_id, "robotCode": sim.org.client_id, "openConversationId": cid,
        "operator": "lina", "coolAppCode": sim.org.cool_app_code}
    control(sim, f"groups/{cid}/rename", {"title": "DB 告警", "operator": "zhangwei"})
    renamed = app.events[-1][1]
    assert renamed["EventType"] == "chat_update_title" and renamed["title"] == "DB 告警"
    assert renamed["eventId"] != event["eventId"]
    assert renamed["operatorUnionId"] == sim.directory.users["zhangwei"].unionid
    control(sim, f"groups/{cid}/uninstall-cool-app", {"operator": "lina"})
    assert app.events[-1][1]["EventType"] == "im_cool_app_uninstall"
    assert [g["coolAppInstalled"] for g in state(sim)["groups"] if g["openConversationId"] == cid] == [False]


# --- card button clicks ---------------------------------------------------------------------------


def test_click_is_signed_and_reply_updates_card(sim: DingTalkSimulator, app: FakeApp) -> None:
    token = new_token(sim)
    api(sim, "POST", "/v1.0/card/callbacks/register", token,
        {"callbackRouteKey": "dutybridge", "callbackUrl": app.url + "/card", "apiSecret": app.api_secret})
    deliver(sim, token, card(sim, "alert-4", "IM_ROBOT.lina", callbackType="HTTP", callbackRouteKey="dutybridge"))
    app.card_reply = {"cardData": {"cardParamMap": {"status": "acknowledged", "can_ack": "false"}},
                      "userPrivateData": {"cardParamMap": {"notice": "已认领"}},
                      "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True}}
    result = control(sim, "click", {"outTrackId": "alert-4", "userId": "lina", "actionId": "silence",
                                    "params": {"minutes": "120"}}).json()
    assert result["status"] == 200 and result["applied"] is True and result["delivery"]["late"] is False
    headers, body = app.clicks[-1]
    assert {k: body[k] for k in ("type", "outTrackId", "corpId", "userId")} == {
        "type": "actionCallback", "outTrackId": "alert-4", "corpId": sim.org.corp_id, "userId": "lina"}
    assert json.loads(body["content"]) == {"cardPrivateData": {"actionIds": ["silence"], "params": {"minutes": "120"}}}
    assert len(headers["x-ddpaas-signature-timestamp"]) == 13
    shown = state(sim)["cards"]["IM_ROBOT.lina"][0]
    assert shown["cardParamMap"]["can_ack"] == "false" and shown["cardParamMap"]["title"] == "CPU high"
    assert shown["privateData"]["lina"] == {"notice": "已认领"}
    assert control(sim, "click", {"outTrackId": "alert-4", "userId": "wangfang", "actionId": "ack"}).status_code == 403


def test_click_with_wrong_secret_is_rejected_by_the_app(sim: DingTalkSimulator, app: FakeApp) -> None:
    token = new_token(sim)
    api(sim, "POST", "/v1.0/card/callbacks/register", token,
        {"callbackRouteKey": "db", "callbackUrl": app.url + "/card", "apiSecret": "not-the-apps-secret"})
    deliver(sim, token, card(sim, "alert-5", "IM_ROBOT.lina", callbackType="HTTP", callbackRouteKey="db"))
    result = control(sim, "click", {"outTrackId": "alert-5", "userId": "lina", "actionId": "ack"}).json()
    assert (result["status"], result["applied"]) == (401, False) and not app.clicks


# --- scene groups ---------------------------------------------------------------------------------


def test_scene_group_create_is_idempotent_and_deliverable(sim: DingTalkSimulator) -> None:
    token, path = new_token(sim), "/v1.0/im/sceneGroup/create"
    body = {"title": "INC-42 war room", "template_id": sim.org.scene_group_template_id,
            "owner_user_id": "zhangwei", "user_ids": ["lina"], "uuid": "INC-42"}
    created = api(sim, "POST", path, token, body).json()
    assert created["open_conversation_id"].startswith("cid") and created["chat_id"].startswith("chat")
    assert api(sim, "POST", path, token, body).json() == created
    assert_new_error(api(sim, "POST", path, token, {**body, "template_id": "x", "uuid": "2"}),
                     400, "groupTemplate.notFound")
    assert_new_error(api(sim, "POST", path, token, {**body, "owner_user_id": "ghost", "uuid": "3"}),
                     400, "member.notFound")
    cid = created["open_conversation_id"]
    added = api(sim, "POST", "/v1.0/im/sceneGroup/member/add", token,
                {"open_conversation_id": cid, "user_ids": ["wangfang"]})
    assert added.json() == {"success": True}
    assert sim.directory.groups[cid].members == ["zhangwei", "lina", "wangfang"]
    scene_robot = {"robotCode": sim.org.scene_group_robot_code}
    results = deliver(sim, token, card(sim, "alert-6", f"IM_GROUP.{cid}", imGroupOpenDeliverModel=scene_robot))
    assert results.json()["result"]["deliverResults"][0]["success"] is True


def test_war_room_apis_need_the_permissions_seed_000_applies_for(sim: DingTalkSimulator) -> None:
    token, old = new_token(sim), old_token(sim)
    assert "qyapi_chat_manage" in state(sim)["org"]["permissions"]
    revoked = control(sim, "console/permissions", {"scope": "qyapi_chat_manage", "granted": False}).json()
    assert revoked["ok"] and "qyapi_chat_manage" not in revoked["permissions"]
    body = {"title": "INC-7 war room", "template_id": sim.org.scene_group_template_id, "owner_user_id": "zhangwei"}
    refused = api(sim, "POST", "/v1.0/im/sceneGroup/create", token, body)
    assert (refused.status_code, refused.json()["code"]) == (403, "Forbidden.AccessDenied.AccessTokenPermissionDenied")
    assert refused.json()["accessdenieddetail"] == {"requiredScopes": ["qyapi_chat_manage"]}
    control(sim, "console/permissions", {"scope": "qyapi_get_member_by_mobile", "granted": False})
    lookup = oapi(sim, "/topapi/v2/user/getbymobile", old, {"mobile": "13800000001"})
    assert (lookup["errcode"], lookup["sub_code"]) == (88, "60011")
    assert "qyapi_get_member_by_mobile" in lookup["sub_msg"]
    for scope in ("qyapi_chat_manage", "qyapi_get_member_by_mobile"):
        control(sim, "console/permissions", {"scope": scope})
    assert api(sim, "POST", "/v1.0/im/sceneGroup/create", token, body).status_code == 200
    assert oapi(sim, "/topapi/v2/user/getbymobile", old, {"mobile": "13800000001"})["errcode"] == 0


def test_group_query_answers_for_cool_app_and_scene_groups_only(sim: DingTalkSimulator) -> None:
    """查询群简要信息: the title of a group the app is in, with the SDK's top-level fields."""
    token, cid = new_token(sim), group_id(sim)
    body = {"openConversationId": cid, "coolAppCode": sim.org.cool_app_code}
    not_in = api(sim, "POST", "/v1.0/im/sceneGroups/query", token, body)
    assert (not_in.status_code, not_in.json()["code"]) == (400, "permession.checkFailed")
    assert control(sim, f"groups/{cid}/install-cool-app", {}).json()["ok"] is True
    answer = api(sim, "POST", "/v1.0/im/sceneGroups/query", token, body)
    assert answer.status_code == 200
    assert answer.json() == {"success": True, "openConversationId": cid, "templateId": "", "title": "SRE 值班群",
                             "ownerUserId": "zhangwei", "status": 1}
    unknown = api(sim, "POST", "/v1.0/im/sceneGroups/query", token, {"openConversationId": "cidNOPE=="})
    assert (unknown.status_code, unknown.json()["code"]) == (400, "parameter.invalid")
    control(sim, "console/permissions", {"scope": "qyapi_chat_manage", "granted": False})
    refused = api(sim, "POST", "/v1.0/im/sceneGroups/query", token, body)
    assert (refused.status_code, refused.json()["accessdenieddetail"]) == (
        403, {"requiredScopes": ["qyapi_chat_manage"]})


# --- limits and faults ------------------------------------------------------------------------------


def test_qps_limit_per_api(sim: DingTalkSimulator, clock: Clock) -> None:
    token, old = new_token(sim), old_token(sim)
    sim.limits.qps_limit = 3
    for i in range(3):
        assert deliver(sim, token, card(sim, f"q{i}", "IM_ROBOT.lina")).status_code == 200
    assert_new_error(deliver(sim, token, card(sim, "q3", "IM_ROBOT.lina")), 403,
                     "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")
    for _ in range(3):
        assert oapi(sim, "/topapi/v2/user/getbymobile", old, {"mobile": "13800000001"})["errcode"] == 0
    assert oapi(sim, "/topapi/v2/user/getbymobile", old, {"mobile": "13800000001"})["errcode"] == 90018
    clock.advance(1)
    assert deliver(sim, token, card(sim, "q4", "IM_ROBOT.lina")).status_code == 200


def test_monthly_quota_spares_token_and_contact_apis(sim: DingTalkSimulator) -> None:
    token, old = new_token(sim), old_token(sim)
    sim.limits.monthly_quota = 1
    assert deliver(sim, token, card(sim, "m1", "IM_ROBOT.lina")).status_code == 200
    assert_new_error(deliver(sim, token, card(sim, "m2", "IM_ROBOT.lina")), 403,
                     "Forbidden.AccessDenied.ApiCountLimitForOrg")
    assert oapi(sim, "/topapi/v2/user/getbymobile", old, {"mobile": "13800000001"})["errcode"] == 0
    assert state(sim)["quota"] == {"used": 1, "limit": 1}


def test_injected_faults(sim: DingTalkSimulator) -> None:
    token, old = new_token(sim), old_token(sim)
    sim.inject("/card/instances/createAndDeliver", "http500")
    assert_new_error(deliver(sim, token, card(sim, "f1", "IM_ROBOT.lina")), 500, "system.busy")
    assert deliver(sim, token, card(sim, "f1", "IM_ROBOT.lina")).status_code == 200  # count=1: retry works
    assert control(sim, "faults", {"path_suffix": "getbymobile", "kind": "errcode88", "count": 2}).json()["ok"]
    for _ in range(2):
        wrapped = oapi(sim, "/topapi/v2/user/getbymobile", old, {"mobile": "13800000001"})
        assert (wrapped["errcode"], wrapped["sub_code"]) == (88, "40014")
    sim.inject("getbymobile", "qps")
    assert oapi(sim, "/topapi/v2/user/getbymobile", old, {"mobile": "13800000001"})["errcode"] == 90018
    sim.inject("getbymobile", "http500")
    assert oapi(sim, "/topapi/v2/user/getbymobile", old, {"mobile": "13800000001"})["errcode"] == -1
    sim.inject("getbymobile", "quota")
    assert oapi(sim, "/topapi/v2/user/getbymobile", old, {"mobile": "13800000001"})["errcode"] == 90020
    sim.inject("createAndDeliver", "qps")
    assert_new_error(deliver(sim, token, card(sim, "f2", "IM_ROBOT.lina")), 403,
                     "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")
    assert control(sim, "faults", {"path_suffix": "x", "kind": "meteor"}).status_code == 400


def test_timeout_fault_answers_late(sim: DingTalkSimulator) -> None:
    old = old_token(sim)
    sim.inject("getbymobile", "timeout", seconds=0.3)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        requests.post(f"{sim.oapi_base}/topapi/v2/user/getbymobile", params={"access_token": old},
                      json={"mobile": "13800000001"}, timeout=0.1)
    sim.inject("getbymobile", "timeout", seconds=0.2)
    assert oapi(sim, "/topapi/v2/user/getbymobile", old, {"mobile": "13800000001"})["errcode"] == 0
    assert time.monotonic() - started >= 0.2


# --- unknown paths, page and JSAPI shim -------------------------------------------------------------


def test_unknown_paths_answer_like_dingtalk(sim: DingTalkSimulator) -> None:
    assert oapi(sim, "/topapi/v2/user/notexist", "t", {})["errcode"] == 22
    assert requests.post(f"{sim.api_base}/oauth2/corpAccessToken").json()["errcode"] == 404


def test_page_and_jsapi_are_served(sim: DingTalkSimulator) -> None:
    page = requests.get(f"{sim.base_url}/dingtalk/")
    assert page.status_code == 200 and "_sim/state" in page.text and "#0089FF" in page.text
    assert 'data-base="/dingtalk"' in sim.panel_html()
    shim = requests.get(f"{sim.base_url}/dingtalk/jsapi.js")
    assert "requestAuthCode" in shim.text and "dd_sim_user" in shim.text
