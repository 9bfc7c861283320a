"""The Feishu simulator must refuse what Feishu refuses, with Feishu's own codes, statuses and bodies."""
from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
import requests

from chalicelib.common.errors import CallbackRejected
from chalicelib.platforms.feishu import crypto as lark_crypto
from devkit.simulators.combined import start_simulators
from devkit.simulators.feishu import push as feishu_push
from devkit.simulators.feishu.simulator import FeishuSimulator
from devkit.simulators.feishu.tenant import App, User
from devkit.simulators.http import Request, Response, Router, json_response, serve

VECTOR = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="


@dataclass
class Clock:
    t: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.t


@dataclass
class Call:
    headers: dict[str, str]
    raw: bytes
    body: dict[str, Any]  # decrypted when it came encrypted


class FakeApp:
    """A stand-in for dutybridge's Feishu endpoints: verifies, decrypts and records what came in."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.calls: list[Call] = []
        self.reply: dict[str, Any] = {}
        self.challenge_mode = "echo"  # "echo" | "wrong"
        self.delay = 0.0
        router = Router()
        router.add("POST", "/events", self.on_event)
        router.add("POST", "/legacy", self.on_legacy)
        self.server, _ = serve(router)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def on_event(self, request: Request) -> Response:
        body = request.json()
        if "encrypt" in body:
            body = json.loads(lark_crypto.decrypt(self.app.encrypt_key, body["encrypt"]))
        self.calls.append(Call(request.headers, request.body, body))
        time.sleep(self.delay)
        if body.get("type") == "url_verification":
            return json_response(200, {"challenge": body["challenge"] if self.challenge_mode == "echo" else "nope"})
        return json_response(200, self.reply)

    on_legacy = on_event  # the legacy card URL is verified the same way; its clicks come unencrypted

    def verify_signature(self, call: Call) -> None:
        expected = lark_crypto.signature(call.headers["x-lark-request-timestamp"], call.headers["x-lark-request-nonce"],
                                         self.app.encrypt_key, call.raw)
        assert call.headers["x-lark-signature"] == expected


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> Iterator[FeishuSimulator]:
    simulator = FeishuSimulator(now=clock, outbound_timeout=5.0)
    server, _ = simulator.start()
    yield simulator
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(sim: FeishuSimulator) -> Iterator[FakeApp]:
    fake = FakeApp(sim.app)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def person(sim: FeishuSimulator, key: str) -> User:
    user = sim.directory.person(key)
    assert user is not None
    return user


def group_id(sim: FeishuSimulator, name: str = "SRE 值班群") -> str:
    return next(g.chat_id for g in sim.directory.groups.values() if g.name == name)


def tenant_token(sim: FeishuSimulator) -> str:
    body = {"app_id": sim.app.app_id, "app_secret": sim.app.app_secret}
    return requests.post(f"{sim.api_base}/open-apis/auth/v3/tenant_access_token/internal", json=body).json()[
        "tenant_access_token"]


def api(sim: FeishuSimulator, method: str, path: str, token: str | None, body: Any = None,
        params: dict[str, str] | None = None, raw: bytes | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, sim.api_base + "/open-apis" + path, headers=headers, params=params,
                            json=body if raw is None else None, data=raw)


def control(sim: FeishuSimulator, path: str, body: Any = None) -> requests.Response:
    return requests.post(f"{sim.api_base}/_sim/{path}", json=body or {})


def card(shared: bool = True, value: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"config": {"update_multi": shared}, "header": {"title": {"tag": "plain_text", "content": "CPU high"},
                                                          "template": "red"},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "**db-1** is hot"}},
                         {"tag": "action", "actions": [{"tag": "button", "type": "primary",
                                                        "text": {"tag": "plain_text", "content": "认领 Ack"},
                                                        "value": value or {"action": "ack", "alert_id": "a1"}}]}],
            **extra}


def send(sim: FeishuSimulator, token: str, receive_id: str, content: Any = None, id_type: str = "open_id",
         **extra: Any) -> requests.Response:
    content = json.dumps(card()) if content is None else content
    body = {"receive_id": receive_id, "msg_type": "interactive", "content": content, **extra}
    return api(sim, "POST", "/im/v1/messages", token, body, {"receive_id_type": id_type})


def assert_error(response: requests.Response, status: int, code: int) -> dict[str, Any]:
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code), body
    assert body["error"]["log_id"] and response.headers["X-Tt-Logid"] == body["error"]["log_id"]
    return body


def open_card_url(sim: FeishuSimulator, app: FakeApp, path: str = "/events") -> None:
    assert control(sim, "console/card-url", {"url": app.url + path}).json()["ok"] is True


# --- crypto -------------------------------------------------------------------------------------------


def test_lark_crypto_matches_the_official_vectors() -> None:
    assert lark_crypto.decrypt("test key", VECTOR) == "hello world"
    body = json.dumps({"encrypt": VECTOR}, separators=(",", ":")).encode()
    assert lark_crypto.signature("1700000000", "abc123", "test key", body) == (
        "69c61fa99760d59824d588297c0036194769fb54331682c9cbcd93e85b9a8aad")
    assert lark_crypto.encrypt("test key", "hello world", iv=base64.b64decode(VECTOR)[:16]) == VECTOR
    assert lark_crypto.decrypt("k", lark_crypto.encrypt("k", "告警 alert")) == "告警 alert"
    assert len(lark_crypto.legacy_card_signature("1", "n", "token", b"{}")) == 40
    for bad in ("not base64!", "AAAA", lark_crypto.encrypt("other key", "x" * 20)):
        with pytest.raises(CallbackRejected):
            lark_crypto.decrypt("test key", bad)
    with pytest.raises(CallbackRejected):
        lark_crypto.decrypt("", VECTOR)


# --- tokens and the bearer check ---------------------------------------------------------------------


def test_tenant_token_follows_the_30_minute_rule(sim: FeishuSimulator, clock: Clock) -> None:
    first = tenant_token(sim)
    clock.t += 5400 - 1  # 30 min + 1 s left: still the same token, with its remaining life
    body = {"app_id": sim.app.app_id, "app_secret": sim.app.app_secret}
    again = requests.post(f"{sim.api_base}/open-apis/auth/v3/tenant_access_token/internal", json=body).json()
    assert (again["tenant_access_token"], again["expire"], again["msg"]) == (first, 1801, "ok")
    clock.t += 2
    second = tenant_token(sim)
    assert second != first
    assert api(sim, "POST", "/contact/v3/users/batch_get_id", first, {"emails": []}).status_code == 200
    clock.t += 1799
    assert_error(api(sim, "POST", "/contact/v3/users/batch_get_id", first, {"emails": []}), 400, 99991663)
    assert api(sim, "POST", "/contact/v3/users/batch_get_id", second, {"emails": []}).status_code == 200


def test_bad_credentials_get_feishus_token_errors(sim: FeishuSimulator) -> None:
    url = f"{sim.api_base}/open-apis/auth/v3/tenant_access_token/internal"
    wrong_secret = requests.post(url, json={"app_id": sim.app.app_id, "app_secret": "x"})
    assert (wrong_secret.status_code, wrong_secret.json()) == (200, {"code": 10014, "msg": "app secret invalid"})
    unknown_app = requests.post(url, json={"app_id": "cli_nope", "app_secret": "x"})
    assert unknown_app.json() == {"code": 10003, "data": {}, "msg": "invalid param"}
    assert requests.post(url, data=b"junk").json()["code"] == 10003
    assert requests.get(url).text == "404 page not found"  # wrong method: plain-text 404
    app_token = requests.post(f"{sim.api_base}/open-apis/auth/v3/app_access_token/internal",
                              json={"app_id": sim.app.app_id, "app_secret": sim.app.app_secret}).json()
    assert app_token["code"] == 0 and app_token["app_access_token"].startswith("t-") and app_token["expire"] == 7200


@pytest.mark.parametrize("header, code", [
    (None, 99991661), ("t-abc", 99991661), ("Bearer ", 99991661), ("Bearer t-unknown", 99991663),
    ("Bearer xyz", 99991671), ("Bearer u-unknown", 99991668)])
def test_bearer_check(sim: FeishuSimulator, header: str | None, code: int) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.post(f"{sim.api_base}/open-apis/contact/v3/users/batch_get_id", headers=headers, json={})
    assert_error(response, 400, code)
    assert sim.state()["rejections"][-1]["code"] == code


# --- sending cards ---------------------------------------------------------------------------------------


def test_send_to_user_by_each_id_type(sim: FeishuSimulator) -> None:
    token, chen = tenant_token(sim), person(sim, "chenjing")
    for id_type, receive_id in (("open_id", chen.open_id), ("user_id", chen.user_id), ("union_id", chen.union_id),
                                ("email", chen.email)):
        response = send(sim, token, receive_id, id_type=id_type)
        data = response.json()["data"]
        assert response.status_code == 200 and data["message_id"].startswith("om_")
        assert data["msg_type"] == "interactive"
        assert data["chat_id"] == sim.directory.p2p_chat_id(chen) and data["sender"]["id"] == sim.app.app_id
    shown = sim.state()["messages"][f"p2p:{chen.open_id}"]
    assert len(shown) == 4 and shown[0]["content"]["header"]["template"] == "red" and shown[0]["updateMulti"]
    assert sim.call_count("/im/v1/messages") == 4


def test_send_to_a_group_needs_the_bot_in_it(sim: FeishuSimulator) -> None:
    token, cid = tenant_token(sim), group_id(sim)
    assert_error(send(sim, token, cid, id_type="chat_id"), 400, 230002)
    assert control(sim, f"groups/{cid}/add-bot", {"operator": "chenjing"}).json()["pushed"] is False  # no event URL yet
    assert send(sim, token, cid, id_type="chat_id").json()["data"]["chat_id"] == cid
    control(sim, f"groups/{cid}/disband", {"operator": "chenjing"})
    assert_error(send(sim, token, cid, id_type="chat_id"), 400, 232009)


@pytest.mark.parametrize("change, status, code", [
    ({"params": {}}, 400, 99992402),
    ({"params": {"receive_id_type": "mobile"}}, 400, 99992402),
    ({"receive_id": ""}, 400, 99992402),
    ({"content": {"elements": []}}, 400, 99992402),
    ({"content": "{not json"}, 400, 230099),
    ({"content": json.dumps({"config": {}})}, 400, 230099),
    ({"content": json.dumps({"schema": "2.0", "body": {"elements": [{"tag": "action", "actions": []}]}})}, 400, 230099),
    ({"content": json.dumps({"type": "template", "data": {"template_id": "AAq"}})}, 400, 230099),
    ({"content": json.dumps(card(header={"title": {"content": "x"}, "template": "pink"}))}, 400, 230099),
    ({"content": json.dumps(card(elements=[{"tag": "div", "text": {"content": "x" * 31000}}]))}, 400, 230025),
    ({"receive_id": "ou_" + "0" * 32}, 400, 230001),
    ({"uuid": "u" * 51}, 400, 99992402),
    ({"msg_type": "sticker"}, 400, 230001),
])
def test_send_validation(sim: FeishuSimulator, change: dict[str, Any], status: int, code: int) -> None:
    body = {"receive_id": person(sim, "liuyang").open_id, "msg_type": "interactive", "content": json.dumps(card())}
    params = change.pop("params", {"receive_id_type": "open_id"})
    response = api(sim, "POST", "/im/v1/messages", tenant_token(sim), {**body, **change}, params)
    assert_error(response, status, code)


def test_card_sub_codes_and_json_2_0(sim: FeishuSimulator) -> None:
    token, zhao = tenant_token(sim), person(sim, "zhaolei").open_id
    v2 = {"schema": "2.0", "config": {"update_multi": True}, "body": {"elements": [
        {"tag": "markdown", "content": "hi"},
        {"tag": "button", "text": {"tag": "plain_text", "content": "Ack"},
         "behaviors": [{"type": "callback", "value": {"action": "ack"}}]}]}}
    assert send(sim, token, zhao, json.dumps(v2)).status_code == 200
    refused = send(sim, token, zhao, "{oops").json()
    assert refused["msg"] == "Failed to create card content, ext=ErrCode: 200621; ErrMsg: parse card json err"
    v2["body"]["elements"].append({"tag": "action", "actions": [{"tag": "button", "text": {"content": "x"}}]})
    assert "ErrCode: 200861" in send(sim, token, zhao, json.dumps(v2)).json()["msg"]


def test_receivers_outside_availability_or_resigned(sim: FeishuSimulator) -> None:
    token, zhao, liu = tenant_token(sim), person(sim, "zhaolei"), person(sim, "liuyang")
    zhao.in_scope, liu.resigned = False, True
    assert_error(send(sim, token, zhao.open_id), 400, 230013)
    assert_error(send(sim, token, liu.open_id), 400, 230029)
    assert_error(send(sim, token, "nobody@example.com", id_type="email"), 400, 230001)


def test_uuid_makes_send_idempotent_for_an_hour(sim: FeishuSimulator, clock: Clock) -> None:
    token, chen = tenant_token(sim), person(sim, "chenjing").open_id
    first = send(sim, token, chen, uuid="inc-1-chenjing").json()["data"]["message_id"]
    assert send(sim, token, chen, uuid="inc-1-chenjing").json()["data"]["message_id"] == first
    assert len(sim.messages.messages) == 1
    clock.t += 3601
    assert send(sim, tenant_token(sim), chen, uuid="inc-1-chenjing").json()["data"]["message_id"] != first


# --- updating cards --------------------------------------------------------------------------------------


def test_patch_rules(sim: FeishuSimulator, clock: Clock) -> None:
    token, chen = tenant_token(sim), person(sim, "chenjing").open_id
    shared = send(sim, token, chen).json()["data"]["message_id"]
    exclusive = send(sim, token, chen, json.dumps(card(shared=False))).json()["data"]["message_id"]
    text = send(sim, token, chen, json.dumps({"text": "hi"}), msg_type="text").json()["data"]["message_id"]
    resolved = json.dumps(card(header={"title": {"tag": "plain_text", "content": "Resolved"}, "template": "green"}))
    ok = api(sim, "PATCH", f"/im/v1/messages/{shared}", token, {"content": resolved})
    assert ok.json() == {"code": 0, "msg": "success", "data": {}}
    assert sim.messages.messages[shared].content["header"]["template"] == "green"
    assert_error(api(sim, "PATCH", f"/im/v1/messages/{exclusive}", token, {"content": resolved}), 400, 230001)
    not_shared_after = json.dumps(card(shared=False))
    assert_error(api(sim, "PATCH", f"/im/v1/messages/{shared}", token, {"content": not_shared_after}), 400, 230001)
    assert_error(api(sim, "PATCH", f"/im/v1/messages/{text}", token, {"content": resolved}), 400, 230001)
    assert_error(api(sim, "PATCH", "/im/v1/messages/om_nope", token, {"content": resolved}), 400, 230001)
    assert_error(api(sim, "PATCH", f"/im/v1/messages/{shared}", token, {"content": "{x"}), 400, 230099)
    clock.t += 14 * 86400 + 1
    late = api(sim, "PATCH", f"/im/v1/messages/{shared}", tenant_token(sim), {"content": resolved})
    assert assert_error(late, 400, 230031)["msg"] == "Message can only be modified within 14 days after sending."


def test_patch_is_limited_to_5_per_second_per_message(sim: FeishuSimulator, clock: Clock) -> None:
    token = tenant_token(sim)
    message_id = send(sim, token, person(sim, "chenjing").open_id).json()["data"]["message_id"]
    content = {"content": json.dumps(card())}
    for _ in range(5):
        assert api(sim, "PATCH", f"/im/v1/messages/{message_id}", token, content).status_code == 200
    assert_error(api(sim, "PATCH", f"/im/v1/messages/{message_id}", token, content), 400, 230020)
    clock.t += 1
    assert api(sim, "PATCH", f"/im/v1/messages/{message_id}", token, content).status_code == 200


def test_delayed_update_token_lifetime_and_uses(sim: FeishuSimulator, clock: Clock) -> None:
    token, chen = tenant_token(sim), person(sim, "chenjing")
    message = sim.messages.messages[send(sim, token, chen.open_id).json()["data"]["message_id"]]
    update = sim.messages.mint_update_token(message, chen.open_id, clock.t)
    path = "/interactive/v1/card/update"
    for _ in range(2):
        assert api(sim, "POST", path, token, {"token": update, "card": card()}).json() == {"code": 0, "msg": "ok"}
    assert_error(api(sim, "POST", path, token, {"token": update, "card": card()}), 400, 300040)
    fresh = sim.messages.mint_update_token(message, chen.open_id, clock.t)
    assert_error(api(sim, "POST", path, token, {"token": "xyz", "card": card()}), 400, 300020)
    assert_error(api(sim, "POST", path, token, {"token": fresh}), 400, 10002)
    assert_error(api(sim, "POST", path, token, {"token": fresh, "card": {"elements": "no"}}), 400, 11311)
    clock.t += 1801
    assert_error(api(sim, "POST", path, tenant_token(sim), {"token": fresh, "card": card()}), 400, 300030)


def test_delayed_update_of_an_exclusive_card_needs_open_ids(sim: FeishuSimulator, clock: Clock) -> None:
    token, chen = tenant_token(sim), person(sim, "chenjing")
    sent = send(sim, token, chen.open_id, json.dumps(card(shared=False))).json()["data"]["message_id"]
    message = sim.messages.messages[sent]
    update = sim.messages.mint_update_token(message, chen.open_id, clock.t)
    path = "/interactive/v1/card/update"
    assert_error(api(sim, "POST", path, token, {"token": update, "card": card(shared=False)}), 400, 300090)
    mine = card(shared=False, open_ids=[chen.open_id], header={"title": {"content": "mine"}, "template": "blue"})
    assert api(sim, "POST", path, token, {"token": update, "card": mine}).status_code == 200
    assert message.views[chen.open_id]["header"]["template"] == "blue" and "open_ids" not in message.views[chen.open_id]


# --- contacts --------------------------------------------------------------------------------------------


def test_batch_get_id(sim: FeishuSimulator) -> None:
    token, liu = tenant_token(sim), person(sim, "liuyang")
    body = {"mobiles": ["13900000001", "+8613900000002", "13900009999"], "emails": ["zhaolei@example.com"]}
    users = api(sim, "POST", "/contact/v3/users/batch_get_id", token, body, {"user_id_type": "open_id"}).json()
    listed = users["data"]["user_list"]
    assert listed[0]["email"] == "zhaolei@example.com" and listed[0]["user_id"] == person(sim, "zhaolei").open_id
    assert [e.get("user_id") for e in listed[1:]] == [person(sim, "chenjing").open_id, liu.open_id, None]
    assert listed[3] == {"mobile": "13900009999"} and listed[2]["status"]["is_resigned"] is False
    by_union = api(sim, "POST", "/contact/v3/users/batch_get_id", token, {"mobiles": ["13900000002"]},
                   {"user_id_type": "union_id"}).json()
    assert by_union["data"]["user_list"][0]["user_id"] == liu.union_id
    liu.resigned = True
    hidden = api(sim, "POST", "/contact/v3/users/batch_get_id", token, {"mobiles": ["13900000002"]}).json()
    assert "user_id" not in hidden["data"]["user_list"][0]
    shown = api(sim, "POST", "/contact/v3/users/batch_get_id", token,
                {"mobiles": ["13900000002"], "include_resigned": True}).json()["data"]["user_list"][0]
    assert shown["status"]["is_resigned"] is True
    too_many = api(sim, "POST", "/contact/v3/users/batch_get_id", token, {"emails": ["a@b.c"] * 51})
    assert assert_error(too_many, 400, 99992402)["error"]["field_violations"][0]["field"] == "emails"


# --- OAuth -------------------------------------------------------------------------------------------------


def authorize(sim: FeishuSimulator, **query: str) -> requests.Response:
    params = {"client_id": sim.app.app_id, "redirect_uri": "https://duty.example.com/cb", "response_type": "code",
              "state": "s1", "scope": "contact:user.id:readonly", **query}
    return requests.get(f"{sim.accounts_base}/open-apis/authen/v1/authorize", params=params, allow_redirects=False)


def code_from(response: requests.Response) -> str:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith("https://duty.example.com/cb?code=") and location.endswith("&state=s1")
    return location.split("code=")[1].split("&")[0]


def exchange(sim: FeishuSimulator, code: str, **extra: str) -> requests.Response:
    form = {"grant_type": "authorization_code", "client_id": sim.app.app_id, "client_secret": sim.app.app_secret,
            "code": code, "redirect_uri": "https://duty.example.com/cb", **extra}
    return requests.post(f"{sim.accounts_base}/oauth/v3/token", data=form)


def test_oauth_round_trip_and_single_use_code(sim: FeishuSimulator) -> None:
    assert authorize(sim).status_code == 400 and "20029" in authorize(sim).text
    control(sim, "console/redirect-url", {"url": "https://duty.example.com/cb"})
    assert authorize(sim, client_id="cli_other").status_code == 400
    assert "陈静" in authorize(sim).text  # nobody known yet: the chooser
    code = code_from(authorize(sim, sim_user="chenjing"))
    token = exchange(sim, code).json()
    assert token["code"] == 0 and token["access_token"].startswith("u-") and token["token_type"] == "Bearer"
    assert token["expires_in"] == 7200 and token["scope"] == "contact:user.id:readonly"
    info = api(sim, "GET", "/authen/v1/user_info", token["access_token"]).json()["data"]
    chen = person(sim, "chenjing")
    assert (info["open_id"], info["union_id"], info["user_id"], info["name"], info["en_name"]) == (
        chen.open_id, chen.union_id, chen.user_id, "陈静", "Jing Chen")
    assert info["tenant_key"] == sim.app.tenant_key and info["mobile"] == "+8613900000001"
    reused = exchange(sim, code)
    assert reused.status_code == 400 and reused.json()["code"] == 20003 and reused.json()["error"] == "invalid_grant"
    assert_error(api(sim, "GET", "/authen/v1/user_info", tenant_token(sim)), 400, 99991663)
    assert_error(api(sim, "POST", "/contact/v3/users/batch_get_id", token["access_token"], {}), 400, 99991668)


def test_oauth_token_errors(sim: FeishuSimulator, clock: Clock) -> None:
    control(sim, "console/redirect-url", {"url": "https://duty.example.com/cb"})
    bad_secret = exchange(sim, code_from(authorize(sim, sim_user="liuyang")), client_secret="nope").json()
    assert bad_secret == {"code": 20002, "error": "invalid_client",
                          "error_description": "The client secret is invalid."}
    assert exchange(sim, code_from(authorize(sim, sim_user="liuyang")),
                    redirect_uri="https://evil.example.com/cb").json()["code"] == 20071
    stale = code_from(authorize(sim, sim_user="liuyang"))
    clock.t += 301
    assert exchange(sim, stale).json()["code"] == 20004
    person(sim, "zhaolei").in_scope = False
    assert exchange(sim, code_from(authorize(sim, sim_user="zhaolei"))).json()["code"] == 20010


def test_open_app_consent_cookie_and_oidc(sim: FeishuSimulator) -> None:
    control(sim, "console/redirect-url", {"url": "https://duty.example.com/cb"})
    opened = control(sim, "open-app", {"open_id": "liuyang", "url": "https://duty.example.com/feishu/home?x=1"}).json()
    liu = person(sim, "liuyang")
    assert opened["url"] == f"https://duty.example.com/feishu/home?x=1&sim_user={liu.open_id}"
    code = code_from(authorize(sim))  # consents as the user who opened the app
    assert sim.oauth.codes[code].open_id == liu.open_id
    cookie = authorize(sim, sim_user="")  # the page's "who am I" cookie wins over open-app
    assert cookie.headers["Set-Cookie"].startswith(f"lark_sim_user={liu.open_id}")
    chosen = requests.get(f"{sim.accounts_base}/open-apis/authen/v1/authorize", allow_redirects=False,
                          params={"client_id": sim.app.app_id, "redirect_uri": "https://duty.example.com/cb",
                                  "response_type": "code", "state": "s1"},
                          cookies={"lark_sim_user": person(sim, "zhaolei").open_id})
    assert sim.oauth.codes[code_from(chosen)].open_id == person(sim, "zhaolei").open_id
    app_token = requests.post(f"{sim.api_base}/open-apis/auth/v3/app_access_token/internal",
                              json={"app_id": sim.app.app_id, "app_secret": sim.app.app_secret}).json()
    oidc = api(sim, "POST", "/authen/v1/oidc/access_token", app_token["app_access_token"],
               {"grant_type": "authorization_code", "code": code}).json()
    assert oidc["code"] == 0 and oidc["data"]["access_token"].startswith("u-")
    assert_error(api(sim, "POST", "/authen/v1/oidc/access_token", tenant_token(sim),
                     {"grant_type": "authorization_code", "code": code}), 400, 99991664)


def test_oauth_v3_client_authentication_and_pkce(sim: FeishuSimulator) -> None:
    control(sim, "console/redirect-url", {"url": "https://duty.example.com/cb"})
    basic = requests.auth.HTTPBasicAuth(sim.app.app_id, sim.app.app_secret)
    form = {"grant_type": "authorization_code", "redirect_uri": "https://duty.example.com/cb"}
    by_basic = requests.post(f"{sim.accounts_base}/oauth/v3/token", auth=basic,
                             data={**form, "code": code_from(authorize(sim, sim_user="liuyang"))})
    assert by_basic.json()["code"] == 0
    both = requests.post(f"{sim.accounts_base}/oauth/v3/token", auth=basic,
                         data={**form, "code": code_from(authorize(sim, sim_user="liuyang")),
                               "client_secret": sim.app.app_secret})
    assert both.status_code == 400 and both.json()["code"] == 20070
    unasked = code_from(authorize(sim, sim_user="liuyang"))
    assert exchange(sim, unasked, code_verifier="v" * 43).json()["error"] == "invalid_request"
    v2 = requests.post(f"{sim.api_base}/open-apis/authen/v2/oauth/token", data={
        **form, "client_id": sim.app.app_id, "client_secret": sim.app.app_secret, "code_verifier": "v" * 43,
        "code": code_from(authorize(sim, sim_user="liuyang"))})
    assert v2.json()["code"] == 0  # the deprecated endpoint let that pass
    challenge = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 43).digest()).rstrip(b"=").decode()
    pkce = code_from(authorize(sim, sim_user="liuyang", code_challenge=challenge, code_challenge_method="S256"))
    assert exchange(sim, pkce, code_verifier="v" * 43).json()["code"] == 0
    wrong = code_from(authorize(sim, sim_user="liuyang", code_challenge=challenge, code_challenge_method="S256"))
    assert exchange(sim, wrong, code_verifier="w" * 43).json()["error"] == "invalid_grant"


# --- console, events, clicks ----------------------------------------------------------------------------


def test_url_verification_handshake(sim: FeishuSimulator, app: FakeApp, monkeypatch: pytest.MonkeyPatch) -> None:
    app.challenge_mode = "wrong"
    refused = control(sim, "console/event-url", {"url": app.url + "/events"}).json()
    assert refused["ok"] is False and "Challenge" in refused["error"] and sim.event_url is None
    call = app.calls[-1]
    assert json.loads(call.raw)["encrypt"] and "x-lark-signature" not in call.headers
    assert call.body["type"] == "url_verification" and call.body["token"] == sim.app.verification_token
    app.challenge_mode, app.delay = "echo", 0.2
    monkeypatch.setattr(feishu_push, "VERIFY_DEADLINE_MS", 100)
    assert control(sim, "console/event-url", {"url": app.url + "/events"}).json()["ok"] is False
    app.delay = 0.0
    assert control(sim, "console/event-url", {"url": app.url + "/events"}).json()["ok"] is True
    assert sim.event_url == app.url + "/events"
    assert control(sim, "console/card-url", {"url": "ftp://x"}).json()["ok"] is False


def test_group_changes_push_encrypted_signed_events(sim: FeishuSimulator, app: FakeApp) -> None:
    control(sim, "console/event-url", {"url": app.url + "/events"})
    cid, chen = group_id(sim, "支付告警群"), person(sim, "chenjing")
    added = control(sim, f"groups/{cid}/add-bot", {"operator": "chenjing"}).json()
    assert added["ok"] is True and added["status"] == 200
    call = app.calls[-1]
    app.verify_signature(call)
    header, event = call.body["header"], call.body["event"]
    assert call.body["schema"] == "2.0" and header["event_type"] == "im.chat.member.bot.added_v1"
    assert (header["token"], header["app_id"], header["tenant_key"]) == (
        sim.app.verification_token, sim.app.app_id, sim.app.tenant_key)
    assert event["chat_id"] == cid and event["operator_id"] == chen.ids() and event["name"] == "支付告警群"
    assert event["i18n_names"]["zh_cn"] == "支付告警群" and event["external"] is False
    control(sim, f"groups/{cid}/rename", {"operator": "liuyang", "name": "支付 P0"})
    renamed = app.calls[-1].body
    assert renamed["event"]["after_change"] == {"name": "支付 P0"}
    assert renamed["event"]["before_change"] == {"name": "支付告警群"}
    assert renamed["header"]["event_id"] != header["event_id"]
    control(sim, f"groups/{cid}/remove-bot", {"operator": "chenjing"})
    assert app.calls[-1].body["header"]["event_type"] == "im.chat.member.bot.deleted_v1"
    pushed = len(app.calls)
    assert control(sim, f"groups/{cid}/disband", {"operator": "chenjing"}).json()["pushed"] is False  # bot gone
    assert len(app.calls) == pushed and sim.directory.groups[cid].dissolved


def test_without_encrypt_key_events_go_plain_and_unsigned(clock: Clock) -> None:
    sim = FeishuSimulator(App(encrypt_key=""), now=clock)
    server, _ = sim.start()
    fake = FakeApp(sim.app)
    try:
        assert control(sim, "console/event-url", {"url": fake.url + "/events"}).json()["ok"] is True
        control(sim, f"groups/{group_id(sim)}/add-bot", {"operator": "zhaolei"})
        call = fake.calls[-1]
        assert "encrypt" not in json.loads(call.raw) and "x-lark-signature" not in call.headers
        assert call.body["header"]["event_type"] == "im.chat.member.bot.added_v1"
    finally:
        for running in (server, fake.server):
            running.shutdown()
            running.server_close()


def test_click_v2_sends_card_action_trigger_and_applies_the_reply(sim: FeishuSimulator, app: FakeApp) -> None:
    open_card_url(sim, app)
    token, cid, liu = tenant_token(sim), group_id(sim), person(sim, "liuyang")
    control(sim, f"groups/{cid}/add-bot", {"operator": "chenjing"})
    message_id = send(sim, token, cid, id_type="chat_id").json()["data"]["message_id"]
    acked = card(header={"title": {"tag": "plain_text", "content": "Acked by 刘洋"}, "template": "orange"})
    app.reply = {"toast": {"type": "success", "content": "Acknowledged", "i18n": {"zh_cn": "已认领"}},
                 "card": {"type": "raw", "data": acked}}
    value = {"action": "ack", "alert_id": "a1"}
    result = control(sim, "click", {"message_id": message_id, "open_id": "liuyang", "value": value}).json()
    assert result["applied"] is True and result["late"] is False
    call = app.calls[-1]
    app.verify_signature(call)
    event = call.body["event"]
    assert call.body["header"]["event_type"] == "card.action.trigger" and event["host"] == "im_message"
    assert event["operator"] == {"tenant_key": sim.app.tenant_key, **liu.ids()} and event["token"].startswith("c-")
    assert event["action"] == {"value": value, "tag": "button"}
    assert event["context"] == {"open_message_id": message_id, "open_chat_id": cid}
    assert sim.messages.messages[message_id].content["header"]["template"] == "orange"
    assert sim.state()["toasts"][-1]["toast"]["content"] == "Acknowledged"
    delayed = api(sim, "POST", "/interactive/v1/card/update", token, {"token": event["token"], "card": card()})
    assert delayed.status_code == 200
    assert control(sim, "click", {"message_id": message_id, "open_id": "liuyang", "value": {"x": 1}}).status_code == 400


def test_click_v1_legacy_is_sha1_signed_plain_json(sim: FeishuSimulator, app: FakeApp) -> None:
    open_card_url(sim, app, "/legacy")
    token, chen = tenant_token(sim), person(sim, "chenjing")
    message_id = send(sim, token, chen.open_id, json.dumps(card(shared=False))).json()["data"]["message_id"]
    app.reply = card(shared=False, header={"title": {"content": "done"}, "template": "green"})
    result = control(sim, "click", {"message_id": message_id, "open_id": chen.open_id, "flavour": "v1",
                                    "value": {"action": "ack", "alert_id": "a1"}}).json()
    assert result["applied"] is True
    call = app.calls[-1]
    assert set(call.body) == {"open_id", "user_id", "open_message_id", "open_chat_id", "tenant_key", "token", "action"}
    assert (call.body["open_id"], call.body["user_id"], call.body["open_message_id"]) == (
        chen.open_id, chen.user_id, message_id)
    assert call.headers["x-lark-signature"] == lark_crypto.legacy_card_signature(
        call.headers["x-lark-request-timestamp"], call.headers["x-lark-request-nonce"], sim.app.verification_token,
        call.raw)
    message = sim.messages.messages[message_id]  # exclusive card: only the clicker's view changes
    assert message.views[chen.open_id]["header"]["template"] == "green"
    assert message.content["header"]["template"] == "red"
    other = control(sim, "click", {"message_id": message_id, "open_id": "liuyang", "value": {"action": "ack"}})
    assert other.status_code == 403


def test_an_overflow_pick_sends_the_menu_value_and_the_option(sim: FeishuSimulator, app: FakeApp) -> None:
    open_card_url(sim, app)
    chen = person(sim, "chenjing")
    menu = {"tag": "overflow", "value": {"action": "silence", "alert_id": "a1"},
            "options": [{"text": {"tag": "plain_text", "content": "屏蔽 6 小时"}, "value": "silence:360"}]}
    with_menu = card()
    with_menu["elements"][1]["actions"].append(menu)
    message_id = send(sim, tenant_token(sim), chen.open_id, json.dumps(with_menu)).json()["data"]["message_id"]
    pick = {"message_id": message_id, "open_id": chen.open_id, "value": menu["value"]}
    assert control(sim, "click", {**pick, "option": "silence:360"}).json()["ok"] is True
    assert app.calls[-1].body["event"]["action"] == {"value": menu["value"], "tag": "overflow",
                                                     "option": "silence:360"}
    assert control(sim, "click", {**pick, "option": "silence:1"}).status_code == 400  # not on the menu
    assert control(sim, "click", pick).status_code == 400  # the menu's value is no button's


def test_late_click_reply_is_not_applied(sim: FeishuSimulator, app: FakeApp, monkeypatch: pytest.MonkeyPatch) -> None:
    open_card_url(sim, app)
    chen = person(sim, "chenjing")
    message_id = send(sim, tenant_token(sim), chen.open_id).json()["data"]["message_id"]
    monkeypatch.setattr(feishu_push, "CARD_DEADLINE_MS", 100)
    app.delay, app.reply = 0.2, {"card": {"type": "raw", "data": card(header={"title": {"content": "x"},
                                                                              "template": "green"})}}
    result = control(sim, "click", {"message_id": message_id, "open_id": chen.open_id,
                                    "value": {"action": "ack", "alert_id": "a1"}}).json()
    assert (result["applied"], result["late"]) == (False, True) and "late" in result["ignored"]
    assert sim.messages.messages[message_id].content["header"]["template"] == "red"
    assert sim.state()["deliveries"][-1]["late"] is True


# --- war room --------------------------------------------------------------------------------------------


def test_create_chat_is_idempotent_and_the_bot_is_in_it(sim: FeishuSimulator) -> None:
    token, chen, liu = tenant_token(sim), person(sim, "chenjing"), person(sim, "liuyang")
    query = {"user_id_type": "open_id", "set_bot_manager": "true", "uuid": "INC-42"}
    body = {"name": "INC-42 作战室", "owner_id": chen.open_id, "user_id_list": [liu.open_id]}
    created = api(sim, "POST", "/im/v1/chats", token, body, query).json()["data"]
    assert created["chat_id"].startswith("oc_") and created["owner_id"] == chen.open_id
    assert api(sim, "POST", "/im/v1/chats", token, body, query).json()["data"]["chat_id"] == created["chat_id"]
    group = sim.directory.groups[created["chat_id"]]
    assert group.bot_in_chat and group.members == [chen.open_id, liu.open_id]
    assert send(sim, token, created["chat_id"], id_type="chat_id").status_code == 200
    unknown = {**body, "user_id_list": ["ou_" + "1" * 32]}
    assert_error(api(sim, "POST", "/im/v1/chats", token, unknown, {"uuid": "INC-43"}), 400, 99992351)


def test_add_members_lists_and_errors(sim: FeishuSimulator) -> None:
    token, zhao = tenant_token(sim), person(sim, "zhaolei")
    chat_id = api(sim, "POST", "/im/v1/chats", token, {"name": "war"}).json()["data"]["chat_id"]
    path, query = f"/im/v1/chats/{chat_id}/members", {"member_id_type": "open_id", "succeed_type": "1"}
    added = api(sim, "POST", path, token, {"id_list": [zhao.open_id, "ou_" + "2" * 32, "bogus"]}, query).json()
    assert added["data"] == {"invalid_id_list": ["bogus"], "not_existed_id_list": ["ou_" + "2" * 32],
                             "pending_approval_id_list": []}
    assert zhao.open_id in sim.directory.groups[chat_id].members
    assert_error(api(sim, "POST", "/im/v1/chats/oc_nope/members", token, {"id_list": [zhao.open_id]}), 400, 232006)
    assert_error(api(sim, "POST", f"/im/v1/chats/{group_id(sim)}/members", token, {"id_list": [zhao.open_id]}),
                 400, 232011)
    assert_error(api(sim, "POST", path, token, {"id_list": []}), 400, 232027)
    assert_error(api(sim, "POST", path, token, {"id_list": [zhao.open_id]}, {"succeed_type": "3"}), 400, 99992402)


@pytest.mark.parametrize("succeed_type", [None, "0", "1", "2"])
def test_add_members_honours_succeed_type(sim: FeishuSimulator, succeed_type: str | None) -> None:
    """0 (the default) skips the resigned but fails on anyone else unusable, 1 adds the usable and lists the
    rest, 2 fails on any unusable id (oapi-sdk-go's SucceedType0/1/2 and CreateChatMembersRespData)."""
    token, chen, liu, zhao = (tenant_token(sim), person(sim, "chenjing"), person(sim, "liuyang"),
                              person(sim, "zhaolei"))
    liu.in_scope, zhao.resigned = False, True
    chat_id = api(sim, "POST", "/im/v1/chats", token, {"name": "war"}).json()["data"]["chat_id"]
    query = {"member_id_type": "open_id", **({"succeed_type": succeed_type} if succeed_type else {})}
    path = f"/im/v1/chats/{chat_id}/members"
    unusable = api(sim, "POST", path, token, {"id_list": [chen.open_id, liu.open_id, zhao.open_id]}, query)
    only_resigned = api(sim, "POST", path, token, {"id_list": [chen.open_id, zhao.open_id]}, query)
    members = sim.directory.groups[chat_id].members
    if succeed_type == "1":
        assert unusable.json()["data"] == {"invalid_id_list": [liu.open_id, zhao.open_id],
                                           "not_existed_id_list": [], "pending_approval_id_list": []}
        assert members == [chen.open_id]
    elif succeed_type == "2":
        refused = assert_error(unusable, 400, 232024)
        assert refused["data"]["invalid_id_list"] == [liu.open_id, zhao.open_id]
        assert_error(only_resigned, 400, 232024)
        assert members == []
    else:
        assert_error(unusable, 400, 232024)
        assert only_resigned.json()["data"]["invalid_id_list"] == [zhao.open_id]
        assert members == [chen.open_id]


def test_concurrent_member_adds_on_one_chat_get_232019(sim: FeishuSimulator) -> None:
    sim.member_add_seconds = 0.3
    token = tenant_token(sim)
    chat_id = api(sim, "POST", "/im/v1/chats", token, {"name": "war"}).json()["data"]["chat_id"]
    results: list[int] = []

    def add(key: str) -> None:
        body = {"id_list": [person(sim, key).open_id]}
        results.append(api(sim, "POST", f"/im/v1/chats/{chat_id}/members", token, body).json()["code"])

    threads = [threading.Thread(target=add, args=(key,)) for key in ("chenjing", "liuyang")]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 232019]


def test_war_room_apis_need_the_scopes_seed_002_applies_for(sim: FeishuSimulator) -> None:
    token = tenant_token(sim)
    assert {"im:chat", "contact:user.id:readonly"} <= set(sim.state()["app"]["scopes"])
    for scope in ("im:chat", "contact:user.id:readonly"):
        assert control(sim, "console/permissions", {"scope": scope, "granted": False}).json()["ok"]
    refused = assert_error(api(sim, "POST", "/im/v1/chats", token, {"name": "war"}), 400, 99991672)
    assert "[im:chat]" in refused["msg"]
    lookup = assert_error(api(sim, "POST", "/contact/v3/users/batch_get_id", token, {"mobiles": ["13900000001"]}),
                          400, 99991672)
    assert lookup["error"]["permission_violations"] == [{"type": "action_scope_required",
                                                         "subject": "contact:user.id:readonly"}]
    control(sim, "console/permissions", {"scope": "im:chat"})
    assert api(sim, "POST", "/im/v1/chats", token, {"name": "war"}).json()["code"] == 0


# --- limits and faults ------------------------------------------------------------------------------------


def test_five_messages_per_second_per_receiver(sim: FeishuSimulator, clock: Clock) -> None:
    token, chen, liu = tenant_token(sim), person(sim, "chenjing").open_id, person(sim, "liuyang").open_id
    for _ in range(5):
        assert send(sim, token, chen).status_code == 200
    refused = assert_error(send(sim, token, chen), 400, 230020)
    assert refused["msg"] == "This operation triggers the frequency limit."
    assert send(sim, token, liu).status_code == 200  # another receiver has its own window
    clock.t += 1
    assert send(sim, token, chen).status_code == 200


def test_app_limits_answer_429_with_ogw_headers(sim: FeishuSimulator, clock: Clock) -> None:
    clock.t = 1_800_000_000.0  # the start of a minute
    token = tenant_token(sim)
    sim.limits.app_per_second = 2
    for _ in range(2):
        assert api(sim, "POST", "/contact/v3/users/batch_get_id", token, {}).status_code == 200
    throttled = api(sim, "POST", "/contact/v3/users/batch_get_id", token, {})
    assert throttled.status_code == 429
    assert throttled.json()["code"] == 99991400 and throttled.json()["msg"] == "request trigger frequency limit"
    assert (throttled.headers["x-ogw-ratelimit-limit"], throttled.headers["x-ogw-ratelimit-reset"]) == ("2", "1")
    sim.limits.app_per_second, sim.limits.app_per_minute = 50, 3
    clock.t += 1
    assert api(sim, "POST", "/contact/v3/users/batch_get_id", token, {}).status_code == 200
    per_minute = api(sim, "POST", "/contact/v3/users/batch_get_id", token, {})
    assert per_minute.status_code == 429
    assert (per_minute.headers["x-ogw-ratelimit-limit"], per_minute.headers["x-ogw-ratelimit-reset"]) == ("3", "59")


def test_monthly_budget(sim: FeishuSimulator) -> None:
    token = tenant_token(sim)
    sim.limits.monthly_quota = 1
    assert api(sim, "POST", "/contact/v3/users/batch_get_id", token, {}).status_code == 200
    assert_error(api(sim, "POST", "/contact/v3/users/batch_get_id", token, {}), 400, 99991403)
    assert tenant_token(sim)  # token calls are not counted against the budget


def test_injected_faults(sim: FeishuSimulator) -> None:
    token, chen = tenant_token(sim), person(sim, "chenjing").open_id
    sim.inject("/im/v1/messages", "http500")
    assert send(sim, token, chen).status_code == 500
    assert send(sim, token, chen).status_code == 200  # count=1: the retry works
    assert control(sim, "faults", {"path_suffix": "/im/v1/messages", "kind": "ratelimit"}).json()["ok"]
    throttled = send(sim, token, chen)
    assert throttled.status_code == 429 and throttled.headers["x-ogw-ratelimit-reset"] == "1"
    sim.inject("batch_get_id", "token_invalid", count=2)
    for _ in range(2):
        assert_error(api(sim, "POST", "/contact/v3/users/batch_get_id", token, {}), 400, 99991663)
    sim.inject("batch_get_id", "timeout", seconds=0.3)
    with pytest.raises(requests.Timeout):
        requests.post(f"{sim.api_base}/open-apis/contact/v3/users/batch_get_id", json={}, timeout=0.1,
                      headers={"Authorization": f"Bearer {token}"})
    assert control(sim, "faults", {"path_suffix": "x", "kind": "meteor"}).status_code == 400


# --- page and the combined server ----------------------------------------------------------------------


def test_page_and_combined_server() -> None:
    simulators = start_simulators()
    try:
        base = f"http://127.0.0.1:{simulators.port}"
        page = requests.get(f"{base}/feishu/")
        assert page.status_code == 200 and "#3370ff" in page.text and 'post("click"' in page.text
        assert 'data-base="/feishu"' in simulators.platforms["feishu"].panel_html()
        assert 'id="fs-sim"' in requests.get(f"{base}/").text and 'id="dt-sim"' in requests.get(f"{base}/").text
        assert simulators.platforms["feishu"].api_base == f"{base}/feishu"
        assert requests.get(f"{base}/feishu/_sim/state").json()["app"]["appId"].startswith("cli_")
        assert requests.get(f"{base}/dingtalk/_sim/state").status_code == 200
    finally:
        simulators.stop()
