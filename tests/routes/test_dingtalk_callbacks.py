"""DingTalk event and card callbacks through the real routes: handshakes, upkeep, and every refusal."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from chalicelib import clock
from chalicelib.platforms.msgcrypt import MsgCrypt
from chalicelib.store import chats, ephemeral, people
from tests.factories import member, stored_integration

CREDS = {"corp_id": "dingcorp0001", "agent_id": "1001", "client_id": "dingappkey0001", "client_secret": "s" * 32,
         "aes_key": "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7", "token": "mryue", "card_api_secret": "api-secret-xyz"}
EVENTS = "/callbacks/int_ding/events"
CARD = "/callbacks/int_ding/card"


@pytest.fixture
def ding(client):
    stored_integration("dingtalk", "int_ding", **CREDS)
    return client


def _push(client, payload: dict | str, *, owner: str = CREDS["client_id"], token: str = CREDS["token"],
          timestamp: str | None = None, tamper: str | None = None):
    crypt = MsgCrypt(token, CREDS["aes_key"], owner)
    timestamp = timestamp or str(int(clock.now() * 1000))
    encrypt = crypt.encrypt(payload if isinstance(payload, str) else json.dumps(payload))
    signature = crypt.sign(timestamp, "nonce123", encrypt)
    body = json.dumps({"encrypt": tamper or encrypt})
    return client.http.post(f"{EVENTS}?signature={signature}&timestamp={timestamp}&nonce=nonce123",
                            headers={"Content-Type": "application/json"}, body=body)


def _reply_plaintext(response) -> str:
    body = json.loads(response.body)
    crypt = MsgCrypt(CREDS["token"], CREDS["aes_key"], CREDS["client_id"])
    crypt.verify(body["msg_signature"], body["timeStamp"], body["nonce"], body["encrypt"])
    return crypt.decrypt(body["encrypt"])


def test_check_url_is_answered_with_the_encrypted_success(ding):
    response = _push(ding, {"EventType": "check_url"})
    assert response.status_code == 200 and _reply_plaintext(response) == "success"


def test_cool_app_install_rename_uninstall_keep_the_chat_list(ding):
    install = {"EventType": "im_cool_app_install", "eventId": "e1", "openConversationId": "cid-sre",
               "robotCode": CREDS["client_id"], "coolAppCode": "COOLAPP"}
    assert _push(ding, install).status_code == 200
    _push(ding, {"EventType": "chat_update_title", "eventId": "e2", "openConversationId": "cid-sre",
                 "title": "SRE 值班群"})
    assert chats.get("int_ding", "cid-sre")["title"] == "SRE 值班群"
    _push(ding, {"EventType": "im_cool_app_uninstall", "eventId": "e3", "openConversationId": "cid-sre"})
    assert chats.get("int_ding", "cid-sre")["active"] is False


def test_redelivered_event_is_answered_but_not_reapplied(ding):
    event = {"EventType": "chat_update_title", "eventId": "same", "openConversationId": "cid-x", "title": "A"}
    _push(ding, event)
    chats.upsert("int_ding", "cid-x", title="B")
    assert _push(ding, event).status_code == 200
    assert chats.get("int_ding", "cid-x")["title"] == "B"


@pytest.mark.parametrize("case", ["forged", "stale", "wrong_owner", "bad_base64", "not_json", "unknown_integration"])
def test_bad_event_pushes_are_refused_without_touching_state(ding, case):
    event = {"EventType": "im_cool_app_install", "eventId": f"e-{case}", "openConversationId": "cid-bad"}
    if case == "forged":
        response = _push(ding, event, token="someone-else")
    elif case == "stale":
        response = _push(ding, event, timestamp=str(int((clock.now() - 7200) * 1000)))
    elif case == "wrong_owner":
        response = _push(ding, event, owner="dingOTHERAPP")
    elif case == "bad_base64":
        response = _push(ding, event, tamper="%%%not-base64%%%")
    elif case == "not_json":
        response = ding.http.post(EVENTS + "?signature=x&timestamp=1&nonce=n", body="{oops",
                                  headers={"Content-Type": "application/json"})
    else:
        response = ding.http.post("/callbacks/int_nope/events?signature=x&timestamp=1&nonce=n",
                                  body='{"encrypt": "abc"}', headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert chats.get("int_ding", "cid-bad") is None
    assert ephemeral.get(f"seen#int_ding#e-{case}") is None


def test_oversized_body_is_refused(ding):
    response = ding.http.post(EVENTS, body=json.dumps({"encrypt": "a" * 70000}),
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def _click(client, user_id: str, action: str = "ack", secret: str = CREDS["card_api_secret"],
           timestamp: str | None = None, params: dict | None = None, path: str = CARD):
    timestamp = timestamp or str(int(clock.now() * 1000))
    signature = base64.b64encode(hmac.new(secret.encode(), timestamp.encode(), hashlib.sha256).digest()).decode()
    content = json.dumps({"cardPrivateData": {"actionIds": [action], "params": params or {}}})
    body = {"type": "actionCallback", "outTrackId": "inc-1.abcdef012345", "corpId": CREDS["corp_id"],
            "userId": user_id, "content": content}
    return client.http.post(path, body=json.dumps(body), headers={
        "Content-Type": "application/json", "x-ddpaas-signature-timestamp": timestamp,
        "x-ddpaas-signature": signature})


def _incident(client, admin_headers):
    notification = {"version": 1, "incident": {"id": "inc-1", "title": "db down", "severity": "critical"}}
    assert client.http.post("/incidents", headers=admin_headers, body=json.dumps(notification)).status_code == 202


def test_click_by_linked_user_acknowledges_and_returns_the_new_card(ding, admin_headers):
    _incident(ding, admin_headers)
    member()
    people.bind("alice", "int_ding", "user-alice", "Alice", clock.iso())
    response = _click(ding, "user-alice")
    body = json.loads(response.body)
    assert response.status_code == 200
    assert body["cardData"]["cardParamMap"]["status"] == "acknowledged"
    assert body["cardData"]["cardParamMap"]["can_ack"] == "false"
    assert "已认领" in body["userPrivateData"]["cardParamMap"]["notice"]
    incident = json.loads(ding.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert incident["status"] == "acknowledged" and incident["timeline"][-1]["source"] == "dingtalk"


def test_click_by_unlinked_user_changes_nothing_and_says_so(ding, admin_headers):
    _incident(ding, admin_headers)
    body = json.loads(_click(ding, "user-stranger").body)
    assert "未关联应用" in body["userPrivateData"]["cardParamMap"]["notice"]
    assert "https://duty.example.com/app/int_ding?pending=" in body["userPrivateData"]["cardParamMap"]["notice"]
    assert "cardData" not in body
    assert json.loads(ding.http.get("/incidents/inc-1", headers=admin_headers).body)["status"] == "triggered"


@pytest.mark.parametrize("case", ["forged", "stale", "other_corp"])
def test_bad_clicks_are_refused(ding, admin_headers, case):
    _incident(ding, admin_headers)
    member()
    people.bind("alice", "int_ding", "user-alice", "Alice", clock.iso())
    if case == "forged":
        response = _click(ding, "user-alice", secret="guessed")
    elif case == "stale":
        response = _click(ding, "user-alice", timestamp=str(int((clock.now() - 3600) * 1000)))
    else:
        stored_integration("dingtalk", "int_other", **{**CREDS, "corp_id": "dingOTHER"})
        response = _click(ding, "user-alice", path="/callbacks/int_other/card")
    assert 400 <= response.status_code < 500
    assert json.loads(ding.http.get("/incidents/inc-1", headers=admin_headers).body)["status"] == "triggered"


def test_a_redelivered_click_is_applied_once(ding, admin_headers):
    _incident(ding, admin_headers)
    member()
    people.bind("alice", "int_ding", "user-alice", "Alice", clock.iso())
    stamp = str(int(clock.now() * 1000))
    first = _click(ding, "user-alice", action="silence", params={"minutes": "120"}, timestamp=stamp)
    again = _click(ding, "user-alice", action="silence", params={"minutes": "120"}, timestamp=stamp)
    assert first.status_code == again.status_code == 200
    assert "已处理" in json.loads(again.body)["userPrivateData"]["cardParamMap"]["notice"]
    timeline = json.loads(ding.http.get("/incidents/inc-1", headers=admin_headers).body)["timeline"]
    assert [e["action"] for e in timeline].count("silence") == 1


def test_war_room_click_without_a_scene_template_says_what_to_configure(ding, admin_headers):
    _incident(ding, admin_headers)
    member()
    people.bind("alice", "int_ding", "user-alice", "Alice", clock.iso())
    body = json.loads(_click(ding, "user-alice", action="war_room").body)
    assert "场景群" in body["userPrivateData"]["cardParamMap"]["notice"] and "cardData" not in body
    incident = json.loads(ding.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert "war_room" not in [e["action"] for e in incident["timeline"]]
