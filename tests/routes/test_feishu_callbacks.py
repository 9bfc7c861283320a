"""Feishu event and card callbacks through the real routes: handshakes, signatures, clicks, refusals."""
from __future__ import annotations

import json
import uuid

import pytest

from chalicelib import clock
from chalicelib.platforms import lark_crypto
from chalicelib.store import chats, people
from tests.factories import member, stored_integration

CREDS = {"app_id": "cli_test", "app_secret": "secret-value-123", "verification_token": "vtoken-abc",
         "encrypt_key": "test key"}
EVENTS, CARD = "/callbacks/int_fs/events", "/callbacks/int_fs/card"


@pytest.fixture
def feishu(client):
    stored_integration("feishu", "int_fs", **CREDS)
    return client


def _post(client, path: str, payload: dict, *, encrypt_key: str | None = CREDS["encrypt_key"], sign: bool = True,
          stamp: str | None = None, legacy: bool = False, token: str = CREDS["verification_token"]):
    raw = json.dumps({"encrypt": lark_crypto.encrypt(encrypt_key, json.dumps(payload))} if encrypt_key and not legacy
                     else payload).encode()
    stamp, nonce = stamp or str(int(clock.now())), "n0nce"
    headers = {"Content-Type": "application/json"}
    if sign:
        signature = (lark_crypto.legacy_card_signature(stamp, nonce, token, raw) if legacy
                     else lark_crypto.signature(stamp, nonce, encrypt_key or "", raw))
        headers.update({"X-Lark-Request-Timestamp": stamp, "X-Lark-Request-Nonce": nonce, "X-Lark-Signature": signature})
    return client.http.post(path, body=raw, headers=headers)


def _event(event_type: str, event: dict, token: str = CREDS["verification_token"]) -> dict:
    return {"schema": "2.0", "header": {"event_id": uuid.uuid4().hex, "token": token, "event_type": event_type,
                                        "create_time": str(int(clock.now() * 1000)), "app_id": CREDS["app_id"],
                                        "tenant_key": "tk"}, "event": event}


@pytest.mark.parametrize("path", [EVENTS, CARD])
def test_url_verification_is_answered_with_the_challenge(feishu, path):
    response = _post(feishu, path, {"challenge": "ch-1", "token": CREDS["verification_token"],
                                    "type": "url_verification"}, sign=False)
    assert response.status_code == 200 and json.loads(response.body) == {"challenge": "ch-1"}


def test_url_verification_with_a_wrong_token_is_refused(feishu):
    response = _post(feishu, EVENTS, {"challenge": "c", "token": "nope", "type": "url_verification"}, sign=False)
    assert response.status_code == 400


def test_bot_added_renamed_removed_keep_the_chat_list(feishu):
    assert _post(feishu, EVENTS, _event("im.chat.member.bot.added_v1", {"chat_id": "oc_1", "name": "SRE"})).status_code == 200
    _post(feishu, EVENTS, _event("im.chat.updated_v1", {"chat_id": "oc_1", "after_change": {"name": "SRE 值班"}}))
    assert chats.get("int_fs", "oc_1")["title"] == "SRE 值班" and chats.get("int_fs", "oc_1")["active"]
    _post(feishu, EVENTS, _event("im.chat.disbanded_v1", {"chat_id": "oc_1"}))
    assert chats.get("int_fs", "oc_1")["active"] is False


@pytest.mark.parametrize("case", ["unsigned", "forged", "stale", "wrong_key", "plaintext", "wrong_token"])
def test_bad_events_are_refused_without_touching_state(feishu, case):
    event = _event("im.chat.member.bot.added_v1", {"chat_id": "oc_bad"},
                   token="other" if case == "wrong_token" else CREDS["verification_token"])
    kwargs = {"unsigned": {"sign": False}, "stale": {"stamp": str(int(clock.now()) - 7200)},
              "wrong_key": {"encrypt_key": "another key"}, "plaintext": {"encrypt_key": None}}.get(case, {})
    if case == "forged":
        raw = json.dumps({"encrypt": lark_crypto.encrypt(CREDS["encrypt_key"], json.dumps(event))})
        response = feishu.http.post(EVENTS, body=raw, headers={
            "Content-Type": "application/json", "X-Lark-Request-Timestamp": str(int(clock.now())),
            "X-Lark-Request-Nonce": "n", "X-Lark-Signature": "0" * 64})
    else:
        response = _post(feishu, EVENTS, event, **kwargs)
    assert 400 <= response.status_code < 500
    assert chats.get("int_fs", "oc_bad") is None


def _incident(client, admin_headers):
    body = {"version": 1, "incident": {"id": "inc-1", "title": "payments 5xx", "severity": "warning"}}
    assert client.http.post("/incidents", headers=admin_headers, body=json.dumps(body)).status_code == 202


def _click_v2(value: dict, open_id: str = "ou_alice", option: str | None = None) -> dict:
    action = {"value": value, "tag": "overflow" if option else "button", **({"option": option} if option else {})}
    return _event("card.action.trigger", {"operator": {"open_id": open_id, "tenant_key": "tk"}, "token": "c-token",
                                          "action": action, "host": "im_message",
                                          "context": {"open_message_id": "om_1", "open_chat_id": "oc_1"}})


def test_click_by_linked_user_acknowledges_with_toast_and_new_card(feishu, admin_headers):
    _incident(feishu, admin_headers)
    member()
    people.bind("alice", "int_fs", "ou_alice", "Alice", clock.iso())
    response = _post(feishu, CARD, _click_v2({"action": "ack", "incident_id": "inc-1"}))
    body = json.loads(response.body)
    assert response.status_code == 200 and body["toast"]["type"] == "success"
    card = body["card"]["data"]
    assert card["config"]["update_multi"] is True
    zh = json.dumps(card["i18n_elements"]["zh_cn"], ensure_ascii=False)
    assert "处理中" in zh and '"action": "ack"' not in json.dumps(card)
    assert "Acknowledged" in json.dumps(card["i18n_elements"]["en_us"])


def test_overflow_silence_option_uses_its_minutes(feishu, admin_headers):
    _incident(feishu, admin_headers)
    member()
    people.bind("alice", "int_fs", "ou_alice", "Alice", clock.iso())
    _post(feishu, CARD, _click_v2({"action": "silence", "incident_id": "inc-1"}, option="silence:1440"))
    incident = json.loads(feishu.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert clock.parse_iso(incident["silenced_until"]) == pytest.approx(clock.now() + 1440 * 60, abs=5)


def test_legacy_card_url_click_is_verified_and_answered_with_the_card(feishu, admin_headers):
    _incident(feishu, admin_headers)
    member()
    people.bind("alice", "int_fs", "ou_alice", "Alice", clock.iso())
    legacy = {"open_id": "ou_alice", "user_id": "u1", "open_message_id": "om_1", "tenant_key": "tk",
              "token": CREDS["verification_token"], "action": {"value": {"action": "resolve", "incident_id": "inc-1"},
                                                              "tag": "button"}}
    response = _post(feishu, CARD, legacy, legacy=True)
    assert response.status_code == 200 and json.loads(response.body)["header"]["template"] == "green"
    forged = _post(feishu, CARD, legacy, legacy=True, token="guess")
    assert forged.status_code == 400


def test_click_by_unlinked_user_changes_nothing(feishu, admin_headers, monkeypatch):
    from chalicelib.platforms.feishu import Feishu
    monkeypatch.setattr(Feishu, "_api", lambda self, *args, **kwargs: {"data": {}})  # the direct message
    _incident(feishu, admin_headers)
    body = json.loads(_post(feishu, CARD, _click_v2({"action": "ack", "incident_id": "inc-1"}, "ou_x")).body)
    assert body["toast"]["type"] == "error" and "未关联应用" in body["toast"]["content"]
    assert json.loads(feishu.http.get("/incidents/inc-1", headers=admin_headers).body)["status"] == "triggered"


def test_an_unlinked_clicker_gets_the_linking_link_as_a_direct_message(feishu, admin_headers, monkeypatch):
    from chalicelib.platforms.feishu import Feishu
    sent = []
    monkeypatch.setattr(Feishu, "_api", lambda self, method, path, body=None, query=None: sent.append(
        (method, path, body, query)) or {"data": {}})
    _incident(feishu, admin_headers)
    _post(feishu, CARD, _click_v2({"action": "ack", "incident_id": "inc-1"}, "ou_x"))
    (method, path, body, query), = sent
    assert (method, path, query, body["receive_id"]) == ("POST", "/open-apis/im/v1/messages",
                                                         {"receive_id_type": "open_id"}, "ou_x")
    assert "/app/int_fs?pending=" in json.loads(body["content"])["text"]
