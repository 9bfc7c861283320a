"""DingTalk event and card callbacks through the real routes: handshakes, upkeep, and every refusal."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import struct
from typing import Iterator
from urllib.parse import urlencode

import pytest
from Crypto.Cipher import AES

from chalicelib.common import clock, sealing
from chalicelib.core.models import DeliveryJob
from chalicelib.platforms.msgcrypt import MsgCrypt, aes_key
from chalicelib.store import chats, deliveries, ephemeral, people
from chalicelib.store import integrations as integration_store
from devkit.simulators.dingtalk.org import Org
from devkit.simulators.dingtalk.simulator import DingTalkSimulator
from tests.factories import member, stored_integration

CREDS = {"corp_id": "dingcorp0001", "agent_id": "1001", "client_id": "dingappkey0001", "client_secret": "s" * 32,
         "aes_key": "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7", "token": "mryue",
         "card_api_secret": "api-secret-xyz"}
EVENTS = "/callbacks/int_ding/events"
CARD = "/callbacks/int_ding/card"
JSON = {"Content-Type": "application/json"}
REFUSED = {"error": "callback_rejected", "message": "refused"}


@pytest.fixture(scope="module")
def sim() -> Iterator[DingTalkSimulator]:
    """DingTalk for the integration's API calls (the group title on install), the same app as CREDS."""
    simulator = DingTalkSimulator(Org(corp_id=CREDS["corp_id"], agent_id=CREDS["agent_id"],
                                      client_id=CREDS["client_id"], client_secret=CREDS["client_secret"],
                                      aes_key=CREDS["aes_key"], token=CREDS["token"]))
    server, _ = simulator.start()
    yield simulator
    server.shutdown()
    server.server_close()


@pytest.fixture
def ding(client, sim):
    integration_store.create({"id": "int_ding", "platform": "dingtalk", "name": "test",
                              "settings": {"api_base": sim.api_base, "oapi_base": sim.oapi_base},
                              "credentials": sealing.seal(CREDS), "created_at": clock.iso(), "updated_at": clock.iso()})
    return client


def _refused(response) -> bool:
    return response.status_code == 400 and json.loads(response.body) == REFUSED


# -- event push -----------------------------------------------------------------------------------

def _post_event(client, encrypt: str, *, signature: str | None = None, timestamp: str | None = None,
                nonce: str = "nonce123", token: str = CREDS["token"]):
    timestamp = timestamp or str(int(clock.now() * 1000))
    signature = signature if signature is not None else MsgCrypt(token, CREDS["aes_key"], "").sign(
        timestamp, nonce, encrypt)
    query = urlencode({"signature": signature, "timestamp": timestamp, "nonce": nonce})
    return client.http.post(f"{EVENTS}?{query}", headers=JSON, body=json.dumps({"encrypt": encrypt}))


def _push(client, payload: dict | str, *, owner: str = CREDS["client_id"], token: str = CREDS["token"],
          timestamp: str | None = None, tamper: str | None = None):
    crypt = MsgCrypt(token, CREDS["aes_key"], owner)
    timestamp = timestamp or str(int(clock.now() * 1000))
    encrypt = crypt.encrypt(payload if isinstance(payload, str) else json.dumps(payload))
    signature = crypt.sign(timestamp, "nonce123", encrypt)
    return _post_event(client, tamper or encrypt, signature=signature, timestamp=timestamp)


def _reply_plaintext(response) -> str:
    body = json.loads(response.body)
    crypt = MsgCrypt(CREDS["token"], CREDS["aes_key"], CREDS["client_id"])
    crypt.verify(body["msg_signature"], body["timeStamp"], body["nonce"], body["encrypt"])
    return crypt.decrypt(body["encrypt"])


def _cipher(plain: bytes) -> str:
    """AES-CBC under the app's key with no padding added: the caller decides whether it is valid."""
    key = aes_key(CREDS["aes_key"])
    return base64.b64encode(AES.new(key, AES.MODE_CBC, key[:16]).encrypt(plain)).decode()


def _zero_filled(plain: bytes) -> bytes:
    """Filled to a block multiple with zero bytes: a last byte of 0 is no PKCS#7 padding."""
    return plain + b"\x00" * (32 - len(plain) % 32)


def _padded(plain: bytes) -> bytes:
    pad = 32 - len(plain) % 32
    return plain + bytes([pad]) * pad


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


def _install_event(sim: DingTalkSimulator, event_id: str) -> tuple[str, dict]:
    """The group's admin installs the cool app: DingTalk's event names the group, never its title."""
    group = next(iter(sim.directory.groups.values()))
    group.cool_app_installed = True
    return group.open_conversation_id, {
        "EventType": "im_cool_app_install", "eventId": event_id, "CorpId": CREDS["corp_id"],
        "coolAppCode": sim.org.cool_app_code, "openConversationCorpId": CREDS["corp_id"],
        "robotCode": CREDS["client_id"], "openConversationId": group.open_conversation_id, "operator": "zhangwei"}


def test_an_installed_group_gets_its_title_from_dingtalk(ding, sim):
    cid, install = _install_event(sim, "e-title")
    assert _push(ding, install).status_code == 200
    chat = chats.get("int_ding", cid)
    assert chat["active"] is True and chat["title"] == "SRE 值班群"
    assert sim.call_count("/v1.0/im/sceneGroups/query") >= 1


def test_a_title_dingtalk_will_not_give_keeps_the_install_and_says_why(ding, sim, caplog):
    cid, install = _install_event(sim, "e-no-title")
    sim.org.permissions.discard("qyapi_chat_manage")
    try:
        with caplog.at_level(logging.WARNING, logger="dutybridge.dingtalk"):
            response = _push(ding, install)
    finally:
        sim.org.permissions.add("qyapi_chat_manage")
    assert response.status_code == 200 and _reply_plaintext(response) == "success"
    chat = chats.get("int_ding", cid)
    assert chat["active"] is True and not chat.get("title")
    assert "AccessTokenPermissionDenied" in caplog.text


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
        response = ding.http.post(EVENTS + "?signature=x&timestamp=1&nonce=n", body="{oops", headers=JSON)
    else:
        response = ding.http.post("/callbacks/int_nope/events?signature=x&timestamp=1&nonce=n",
                                  body='{"encrypt": "abc"}', headers=JSON)
    assert _refused(response)
    assert chats.get("int_ding", "cid-bad") is None
    assert ephemeral.get(f"seen#int_ding#e-{case}") is None


def test_the_signature_is_checked_before_anything_is_decrypted(ding, monkeypatch):
    opened = []
    monkeypatch.setattr(MsgCrypt, "open", lambda self, encrypt: opened.append(encrypt) or ("{}", b""))
    crypt = MsgCrypt(CREDS["token"], CREDS["aes_key"], CREDS["client_id"])
    assert _refused(_post_event(ding, crypt.encrypt('{"EventType": "check_url"}'), signature="0" * 40))
    assert opened == []


def _envelopes() -> dict[str, str]:
    """Ciphertexts that fail after the signature in every way the envelope can: each signed correctly."""
    owner, random16 = CREDS["client_id"].encode(), os.urandom(16)
    message = b'{"EventType": "check_url"}'
    return {
        "bad base64": "%%%not-base64%%%",
        "length not a block multiple": base64.b64encode(os.urandom(20)).decode(),
        "bad padding": _cipher(_zero_filled(random16 + struct.pack(">I", len(message)) + message + owner)),
        "declared length too long": _cipher(_padded(random16 + struct.pack(">I", 4096) + message + owner)),
        "too short": _cipher(_padded(b"x" * 10)),
        "not UTF-8": _cipher(_padded(random16 + struct.pack(">I", 4) + b"\xff\xfe\xfd\xfc" + owner)),
        "another app": _cipher(_padded(random16 + struct.pack(">I", len(message)) + message + b"dingOTHER")),
        "not JSON": _cipher(_padded(random16 + struct.pack(">I", 5) + b"hello" + owner)),
    }


def test_every_envelope_that_cannot_be_opened_gets_the_same_answer(ding):
    """No padding oracle, even for someone holding the Token (it signs, but the aes_key encrypts)."""
    answers = {name: _post_event(ding, encrypt) for name, encrypt in _envelopes().items()}
    assert len({(a.status_code, a.body, a.headers["Content-Type"]) for a in answers.values()}) == 1
    assert all(_refused(a) for a in answers.values())


def test_tampered_ciphertexts_with_good_and_bad_padding_get_byte_identical_answers(ding):
    """The reviewer's oracle: flip bytes of a captured envelope, keep its signature, watch the answer."""
    crypt = MsgCrypt(CREDS["token"], CREDS["aes_key"], CREDS["client_id"])
    timestamp = str(int(clock.now() * 1000))
    captured = crypt.encrypt(json.dumps({"EventType": "check_url"}))
    signature = crypt.sign(timestamp, "nonce123", captured)
    raw = bytearray(base64.b64decode(captured))
    key = aes_key(CREDS["aes_key"])
    answers = []
    original = raw[-17]
    for last in (b for b in range(256) if b != original):  # this byte drives the last plaintext byte: the pad
        raw[-17] = last
        tampered = base64.b64encode(bytes(raw)).decode()
        plain = AES.new(key, AES.MODE_CBC, key[:16]).decrypt(bytes(raw))
        answers.append((1 <= plain[-1] <= 32, _post_event(ding, tampered, signature=signature, timestamp=timestamp)))
    assert {good for good, _ in answers} == {True, False}  # both kinds were tried
    assert len({(a.status_code, a.body) for _, a in answers}) == 1 and _refused(answers[0][1])


@pytest.mark.parametrize("case", ["400-digit timestamp", "superscript timestamp", "non-ASCII signature",
                                  "non-ASCII nonce", "surrogate in encrypt", "nested body"])
def test_malformed_pushes_are_refused_not_500(ding, case):
    crypt = MsgCrypt(CREDS["token"], CREDS["aes_key"], CREDS["client_id"])
    encrypt = crypt.encrypt(json.dumps({"EventType": "check_url"}))
    if case == "400-digit timestamp":
        response = _post_event(ding, encrypt, timestamp="9" * 400)
    elif case == "superscript timestamp":
        response = _post_event(ding, encrypt, timestamp="²")
    elif case == "non-ASCII signature":
        response = _post_event(ding, encrypt, signature="签名" * 20)
    elif case == "non-ASCII nonce":
        response = _post_event(ding, encrypt, nonce="随机")
    elif case == "surrogate in encrypt":
        response = ding.http.post(f"{EVENTS}?signature=x&timestamp={int(clock.now() * 1000)}&nonce=n",
                                  headers=JSON, body='{"encrypt": "\\ud800abc"}')
    else:
        response = ding.http.post(f"{EVENTS}?signature=x&timestamp=1&nonce=n", headers=JSON, body="[" * 60000)
    assert _refused(response)


@pytest.mark.parametrize("event", [
    {"EventType": "im_cool_app_install", "eventId": "e1", "openConversationId": {"cid": "x"}},
    {"EventType": "im_cool_app_install", "eventId": "e1", "openConversationId": ["cid"]},
    {"EventType": "im_cool_app_install", "eventId": "e1", "openConversationId": 42},
    {"EventType": "im_cool_app_install", "eventId": "e1", "openConversationId": "c" * 3000},
    {"EventType": "chat_update_title", "eventId": "e1", "openConversationId": "cid", "title": {"zh": "x"}},
    {"EventType": "chat_update_title", "eventId": {"id": 1}, "openConversationId": "cid", "title": "x"},
    {"EventType": "chat_update_title", "eventId": "e" * 3000, "openConversationId": "cid", "title": "x"},
    {"EventType": ["chat_update_title"], "eventId": "e1"},
    "[" * 20000,
    '"just a string"',
], ids=["cid-object", "cid-list", "cid-number", "cid-huge", "title-object", "eventId-object", "eventId-huge",
        "type-list", "nested", "not-an-object"])
def test_signed_events_of_the_wrong_shape_are_refused_not_500(ding, event):
    response = _push(ding, event)
    assert _refused(response)
    assert chats.of("int_ding") == []


def test_oversized_body_is_refused(ding):
    response = ding.http.post(EVENTS, body=json.dumps({"encrypt": "a" * 70000}), headers=JSON)
    assert response.status_code == 413


# -- card clicks ----------------------------------------------------------------------------------

def _delivered(kind: str = "user", target: str = "user-alice", incident_id: str = "inc-1") -> str:
    """A card this integration delivered; returns its outTrackId (the delivery's card key)."""
    job = DeliveryJob(incident_id=incident_id, integration_id="int_ding", kind=kind, target=target)
    deliveries.ensure({"incident_id": incident_id, "target_key": job.target_key, "integration_id": "int_ding",
                       "kind": kind, "target": target, "state": "sent", "ref": {"out_track_id": job.card_key}})
    return job.card_key


def _sign(timestamp: str, secret: str = CREDS["card_api_secret"]) -> str:
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode(), hashlib.sha256).digest()).decode()


def _click_body(user_id: str, action: str = "ack", params: dict | None = None, out_track_id: str | None = None):
    content = json.dumps({"cardPrivateData": {"actionIds": [action], "params": params or {}}})
    return {"type": "actionCallback", "outTrackId": out_track_id or _delivered(), "corpId": CREDS["corp_id"],
            "userId": user_id, "content": content}


def _post_click(client, body: dict | str, *, timestamp: str | None = None, signature: str | None = None,
                path: str = CARD):
    timestamp = timestamp or str(int(clock.now() * 1000))
    return client.http.post(path, body=body if isinstance(body, str) else json.dumps(body), headers={
        **JSON, "x-ddpaas-signature-timestamp": timestamp,
        "x-ddpaas-signature": signature if signature is not None else _sign(timestamp)})


def _click(client, user_id: str, action: str = "ack", secret: str = CREDS["card_api_secret"],
           timestamp: str | None = None, params: dict | None = None, path: str = CARD,
           out_track_id: str | None = None):
    timestamp = timestamp or str(int(clock.now() * 1000))
    return _post_click(client, _click_body(user_id, action, params, out_track_id), timestamp=timestamp,
                       signature=_sign(timestamp, secret), path=path)


def _incident(client, admin_headers):
    notification = {"version": 1, "incident": {"id": "inc-1", "title": "db down", "severity": "critical"}}
    assert client.http.post("/incidents", headers=admin_headers, body=json.dumps(notification)).status_code == 202


def _status(client, admin_headers) -> str:
    return json.loads(client.http.get("/incidents/inc-1", headers=admin_headers).body)["status"]


def _alice_and_bob():
    member()
    member("bob", "Bob", "13800000002")
    people.bind("alice", "int_ding", "user-alice", "Alice", clock.iso())
    people.bind("bob", "int_ding", "user-bob", "Bob", clock.iso())


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


def test_a_click_on_a_card_recorded_by_a_deployed_version_notes_whom_it_told(ding, admin_headers):
    """The ref as deployed versions stored it after an earlier click: the new click still names its card."""
    _incident(ding, admin_headers)
    card = _delivered("chat", "cid-sre")
    deliveries.record("inc-1", "int_ding#chat#cid-sre", ref={"out_track_id": card, "noticed": "user-earlier"})
    _click(ding, "user-stranger", out_track_id=card)
    assert deliveries.get("inc-1", "int_ding#chat#cid-sre")["ref"] == {"out_track_id": card,
                                                                      "noticed": "user-stranger"}


def test_click_by_unlinked_user_changes_nothing_and_says_so(ding, admin_headers):
    _incident(ding, admin_headers)
    card = _delivered("user", "user-stranger")
    body = json.loads(_click(ding, "user-stranger", out_track_id=card).body)
    assert "未关联应用" in body["userPrivateData"]["cardParamMap"]["notice"]
    assert "https://duty.example.com/app/int_ding?pending=" in body["userPrivateData"]["cardParamMap"]["notice"]
    assert "cardData" not in body
    assert _status(ding, admin_headers) == "triggered"


@pytest.mark.parametrize("case", ["forged", "stale", "other_corp", "no_secret"])
def test_bad_clicks_are_refused(ding, admin_headers, case):
    _incident(ding, admin_headers)
    member()
    people.bind("alice", "int_ding", "user-alice", "Alice", clock.iso())
    if case == "forged":
        response = _click(ding, "user-alice", secret="guessed")
    elif case == "stale":
        response = _click(ding, "user-alice", timestamp=str(int((clock.now() - 3600) * 1000)))
    elif case == "other_corp":
        stored_integration("dingtalk", "int_other", **{**CREDS, "corp_id": "dingOTHER"})
        response = _click(ding, "user-alice", path="/callbacks/int_other/card")
    else:  # an integration whose card callback was never registered: HMAC under an empty key is no proof
        stored_integration("dingtalk", "int_nosecret", **{**CREDS, "card_api_secret": ""})
        response = _click(ding, "user-alice", secret="", path="/callbacks/int_nosecret/card")
    assert _refused(response)
    assert _status(ding, admin_headers) == "triggered"


def test_a_redelivered_click_is_applied_once(ding, admin_headers):
    """DingTalk delivering the same click again (same headers, same body) is answered, not refused."""
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


def test_a_captured_signature_carries_no_other_body(ding, admin_headers):
    """The signature covers only the timestamp: reused with another user or action, it is refused."""
    _incident(ding, admin_headers)
    _alice_and_bob()
    group_card = _delivered("chat", "cid-sre")
    stamp = str(int(clock.now() * 1000))
    assert _click(ding, "user-alice", out_track_id=group_card, timestamp=stamp).status_code == 200
    assert _refused(_click(ding, "user-bob", action="resolve", out_track_id=group_card, timestamp=stamp))
    assert _refused(_click(ding, "user-alice", action="resolve", out_track_id=group_card, timestamp=stamp))
    incident = json.loads(ding.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert incident["status"] == "acknowledged"
    assert [e["action"] for e in incident["timeline"]].count("resolve") == 0


def test_a_refused_body_does_not_spend_the_signature(ding, admin_headers):
    """A malformed body under a genuine header pair leaves the genuine click acceptable."""
    _incident(ding, admin_headers)
    member()
    people.bind("alice", "int_ding", "user-alice", "Alice", clock.iso())
    stamp = str(int(clock.now() * 1000))
    assert _refused(_post_click(ding, {**_click_body("user-alice"), "content": "{}"}, timestamp=stamp))
    assert _click(ding, "user-alice", timestamp=stamp).status_code == 200
    assert _status(ding, admin_headers) == "acknowledged"


def test_a_one_to_one_card_answers_only_its_recipient(ding, admin_headers):
    _incident(ding, admin_headers)
    _alice_and_bob()
    alices = _delivered("user", "user-alice")
    assert _refused(_click(ding, "user-bob", action="resolve", out_track_id=alices))
    assert _status(ding, admin_headers) == "triggered"
    group_card = _delivered("chat", "cid-sre")
    assert _click(ding, "user-bob", out_track_id=group_card).status_code == 200  # any member of a group
    assert _status(ding, admin_headers) == "acknowledged"


def test_a_click_on_a_card_this_integration_never_sent_is_refused(ding, admin_headers):
    _incident(ding, admin_headers)
    member()
    people.bind("alice", "int_ding", "user-alice", "Alice", clock.iso())
    assert _refused(_click(ding, "user-alice", out_track_id="inc-1.abcdef012345"))
    other = DeliveryJob(incident_id="inc-1", integration_id="int_other", kind="user", target="user-alice")
    deliveries.ensure({"incident_id": "inc-1", "target_key": other.target_key, "integration_id": "int_other",
                       "kind": "user", "target": "user-alice", "state": "sent"})
    assert _refused(_click(ding, "user-alice", out_track_id=other.card_key))
    assert _status(ding, admin_headers) == "triggered"


def _malformed_clicks() -> dict[str, tuple[object, dict]]:
    """name → (body, header overrides): each signed correctly unless the case is the header itself."""
    card = DeliveryJob(incident_id="inc-1", integration_id="int_ding", kind="user", target="user-alice").card_key
    base = {"type": "actionCallback", "outTrackId": card, "corpId": CREDS["corp_id"], "userId": "user-alice"}

    def content(private: object) -> dict:
        return {**base, "content": json.dumps({"cardPrivateData": private})}
    ack = {"actionIds": ["ack"], "params": {}}
    return {
        "content an object": ({**base, "content": {"cardPrivateData": ack}}, {}),
        "content not JSON": ({**base, "content": "{oops"}, {}),
        "content nested": ({**base, "content": "[" * 20000}, {}),
        "cardPrivateData a string": (content("ack"), {}),
        "cardPrivateData missing": ({**base, "content": "{}"}, {}),
        "params a string": (content({"actionIds": ["ack"], "params": "minutes=120"}), {}),
        "actionIds a string": (content({"actionIds": "ack"}), {}),
        "actionIds empty": (content({"actionIds": []}), {}),
        "actionIds numbers": (content({"actionIds": [1]}), {}),
        "minutes superscript": (content({"actionIds": ["silence"], "params": {"minutes": "²"}}), {}),
        "minutes 400 digits": (content({"actionIds": ["silence"], "params": {"minutes": "9" * 400}}), {}),
        "minutes an object": (content({"actionIds": ["silence"], "params": {"minutes": {"m": 1}}}), {}),
        "userId a number": ({**content(ack), "userId": 42}, {}),
        "userId huge": ({**content(ack), "userId": "u" * 3000}, {}),
        "outTrackId a list": ({**content(ack), "outTrackId": [card]}, {}),
        "outTrackId huge": ({**content(ack), "outTrackId": "inc-1." + "x" * 3000}, {}),
        "type missing": ({k: v for k, v in content(ack).items() if k != "type"}, {}),
        "body nested": ("[" * 60000, {}),
        "body a list": ("[1, 2]", {}),
        "timestamp 400 digits": (content(ack), {"x-ddpaas-signature-timestamp": "9" * 400}),
        "timestamp superscript": (content(ack), {"x-ddpaas-signature-timestamp": "²"}),
        "signature non-ASCII": (content(ack), {"x-ddpaas-signature": "签名签名签名"}),
        "signature missing": (content(ack), {"x-ddpaas-signature": ""}),
    }


@pytest.mark.parametrize("case", list(_malformed_clicks()))
def test_malformed_clicks_are_refused_not_500(ding, admin_headers, case):
    _incident(ding, admin_headers)
    member()
    people.bind("alice", "int_ding", "user-alice", "Alice", clock.iso())
    _delivered()
    body, headers = _malformed_clicks()[case]
    timestamp = headers.get("x-ddpaas-signature-timestamp") or str(int(clock.now() * 1000))
    response = _post_click(ding, body if isinstance(body, str) else json.dumps(body), timestamp=timestamp,
                           signature=headers.get("x-ddpaas-signature"))
    assert _refused(response)
    assert _status(ding, admin_headers) == "triggered"


def test_war_room_click_without_a_scene_template_says_what_to_configure(ding, admin_headers):
    _incident(ding, admin_headers)
    member()
    people.bind("alice", "int_ding", "user-alice", "Alice", clock.iso())
    body = json.loads(_click(ding, "user-alice", action="war_room").body)
    assert "场景群" in body["userPrivateData"]["cardParamMap"]["notice"] and "cardData" not in body
    incident = json.loads(ding.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert "war_room" not in [e["action"] for e in incident["timeline"]]


def test_an_unsilence_click_reaches_the_incident_as_unsilence(ding, admin_headers):
    """The 取消屏蔽 button's actionId ``unsilence`` (docs/dingtalk/card-template.json) in an actionCallback."""
    _incident(ding, admin_headers)
    member()
    people.bind("alice", "int_ding", "user-alice", "Alice", clock.iso())
    refused = json.loads(_click(ding, "user-alice", action="unsilence").body)
    assert "故障未被屏蔽" in refused["userPrivateData"]["cardParamMap"]["notice"]  # applied as unsilence, refused
    ding.http.post("/incidents/inc-1/actions", headers=admin_headers,
                   body=json.dumps({"action": "silence", "by": "alice"}))
    body = json.loads(_click(ding, "user-alice", action="unsilence").body)
    assert body["cardData"]["cardParamMap"]["can_unsilence"] == "false"
    assert body["cardData"]["cardParamMap"]["can_silence"] == "true"
    incident = json.loads(ding.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert not incident.get("silenced_until") and incident["timeline"][-1]["action"] == "unsilence"


# -- offboarding ----------------------------------------------------------------------------------

def _leave(user_ids: object, corp_id: str = CREDS["corp_id"], event_id: str = "e-leave") -> dict:
    """通讯录用户离职 as DingTalk's HTTP push carries it: EventType, CorpId, TimeStamp and the UserId list
    (open.dingtalk.com 通讯录事件; apitable's BaseContactUserEvent reads the same fields), with the
    common eventId/EventTime/BizId of every push (platform-protocols.md §1.3)."""
    now_ms = int(clock.now() * 1000)
    return {"EventType": "user_leave_org", "EventTime": now_ms, "CorpId": corp_id, "BizId": str(now_ms),
            "eventId": event_id, "TimeStamp": str(now_ms), "UserId": user_ids}


def test_user_leave_org_revokes_the_binding_of_everyone_who_left(ding):
    member("alice", "Alice")
    member("bob", "Bob", "13800000002")
    people.bind("alice", "int_ding", "user-alice", "Alice", clock.iso())
    people.bind("bob", "int_ding", "user-bob", "Bob", clock.iso())
    response = _push(ding, _leave(["user-alice", "user-stranger"]))
    assert response.status_code == 200 and _reply_plaintext(response) == "success"
    assert people.binding("alice", "int_ding") is None and people.binding("bob", "int_ding") is not None
    assert people.get_member("alice")["left"]["int_ding"]["event"] == "user_leave_org"


@pytest.mark.parametrize("event", [_leave("user-alice"), _leave([7]), _leave(["user-alice"], corp_id="dingother")],
                         ids=["not_a_list", "not_strings", "other_corp"])
def test_a_user_leave_org_of_the_wrong_shape_or_org_is_refused(ding, event):
    member("alice", "Alice")
    people.bind("alice", "int_ding", "user-alice", "Alice", clock.iso())
    assert _refused(_push(ding, event))
    assert people.binding("alice", "int_ding") is not None
