"""Feishu event and card callbacks through the real routes: handshakes, signatures, clicks, refusals.

Payloads follow Feishu's documents and official SDKs, not our reading of them: ``card.action.trigger``
carries the Verification Token in ``header.token`` and the click's update credential (``c-…``) in
``event.token``; the legacy ``card.action.trigger_v1`` body is flat, its ``token`` is the ``c-…``
credential, and only its sha1 signature over the Verification Token vouches for it (open.feishu.cn
"消息卡片回传交互（旧）"; lark-oapi ``CardActionHandler``; oapi-sdk-go ``larkcard.CardAction``).
"""
from __future__ import annotations

import base64
import json
import uuid

import pytest

from chalicelib.common import clock, queues
from chalicelib.common.errors import CallbackRejected
from chalicelib.core.models import MAX_SILENCE_MINUTES
from chalicelib.delivery import pacing
from chalicelib.flows import consumers as worker
from chalicelib.platforms.feishu import crypto as lark_crypto
from chalicelib.platforms.feishu import inbound as feishu_inbound
from chalicelib.store import chats, deliveries, people
from tests.conftest import drain
from tests.factories import member, stored_integration

CREDS = {"app_id": "cli_test", "app_secret": "secret-value-123", "verification_token": "vtoken-abc",
         "encrypt_key": "test key"}
EVENTS, CARD = "/callbacks/int_fs/events", "/callbacks/int_fs/card"
UPDATE_TOKEN = "c-bb72b8787895b65b7fd5ec2ce18aff2bf8cad2af"


@pytest.fixture
def feishu(client):
    stored_integration("feishu", "int_fs", **CREDS)
    return client


def _headers(raw: bytes, *, stamp: str | None = None, legacy: bool = False, token: str = CREDS["verification_token"],
             key: str = CREDS["encrypt_key"]) -> dict:
    stamp, nonce = stamp or str(int(clock.now())), "n0nce"
    signature = (lark_crypto.legacy_card_signature(stamp, nonce, token, raw) if legacy
                 else lark_crypto.signature(stamp, nonce, key, raw))
    return {"Content-Type": "application/json", "X-Lark-Request-Timestamp": stamp, "X-Lark-Request-Nonce": nonce,
            "X-Lark-Signature": signature}


def _post(client, path: str, payload: dict | str, *, encrypt_key: str | None = CREDS["encrypt_key"],
          sign: bool = True, stamp: str | None = None, legacy: bool = False, token: str = CREDS["verification_token"]):
    plain = payload if isinstance(payload, str) else json.dumps(payload)
    raw = (json.dumps({"encrypt": lark_crypto.encrypt(encrypt_key, plain)}) if encrypt_key and not legacy
           else plain).encode()
    headers = (_headers(raw, stamp=stamp, legacy=legacy, token=token, key=encrypt_key or "") if sign
               else {"Content-Type": "application/json"})
    return client.http.post(path, body=raw, headers=headers)


def _event(event_type: str, event: dict, token: str = CREDS["verification_token"]) -> dict:
    return {"schema": "2.0", "header": {"event_id": uuid.uuid4().hex, "token": token, "event_type": event_type,
                                        "create_time": str(int(clock.now() * 1000)), "app_id": CREDS["app_id"],
                                        "tenant_key": "tk"}, "event": event}


def _refused(response) -> bool:
    return response.status_code == 400 and json.loads(response.body) == {"error": "callback_rejected",
                                                                         "message": "refused"}


# -- handshakes ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [EVENTS, CARD])
@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
def test_url_verification_is_answered_with_the_challenge(feishu, path, encrypted):
    """Unsigned, as the console sends it; a plain one too although an Encrypt Key is set, as the SDKs answer it."""
    response = _post(feishu, path, {"challenge": "ch-1", "token": CREDS["verification_token"],
                                    "type": "url_verification"}, sign=False,
                     encrypt_key=CREDS["encrypt_key"] if encrypted else None)
    assert response.status_code == 200 and json.loads(response.body) == {"challenge": "ch-1"}


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
def test_url_verification_with_a_wrong_token_is_refused(feishu, encrypted):
    response = _post(feishu, EVENTS, {"challenge": "c", "token": "nope", "type": "url_verification"}, sign=False,
                     encrypt_key=CREDS["encrypt_key"] if encrypted else None)
    assert _refused(response)


# -- events --------------------------------------------------------------------------------------------------

def test_bot_added_renamed_removed_keep_the_chat_list(feishu):
    added = _event("im.chat.member.bot.added_v1", {"chat_id": "oc_1", "name": "SRE"})
    assert _post(feishu, EVENTS, added).status_code == 200
    _post(feishu, EVENTS, _event("im.chat.updated_v1", {"chat_id": "oc_1", "after_change": {"name": "SRE 值班"}}))
    _post(feishu, EVENTS, _event("im.chat.updated_v1", {"chat_id": "oc_1", "after_change": {"description": "x"}}))
    assert chats.get("int_fs", "oc_1")["title"] == "SRE 值班" and chats.get("int_fs", "oc_1")["active"]
    _post(feishu, EVENTS, _event("im.chat.disbanded_v1", {"chat_id": "oc_1"}))
    assert chats.get("int_fs", "oc_1")["active"] is False


@pytest.mark.parametrize("case", ["unsigned", "forged", "stale", "wrong_key", "plaintext", "wrong_token"])
def test_bad_events_are_refused_without_touching_state(feishu, case):
    event = _event("im.chat.member.bot.added_v1", {"chat_id": "oc_bad"},
                   token="other" if case == "wrong_token" else CREDS["verification_token"])
    kwargs = {"unsigned": {"sign": False}, "stale": {"stamp": str(int(clock.now()) - 7200)},
              "wrong_key": {"encrypt_key": "another key"},
              "plaintext": {"encrypt_key": None, "sign": False}}.get(case, {})
    if case == "forged":
        raw = json.dumps({"encrypt": lark_crypto.encrypt(CREDS["encrypt_key"], json.dumps(event))})
        response = feishu.http.post(EVENTS, body=raw, headers={
            "Content-Type": "application/json", "X-Lark-Request-Timestamp": str(int(clock.now())),
            "X-Lark-Request-Nonce": "n", "X-Lark-Signature": "0" * 64})
    else:
        response = _post(feishu, EVENTS, event, **kwargs)
    assert _refused(response)
    assert chats.get("int_fs", "oc_bad") is None


# -- no padding oracle ---------------------------------------------------------------------------------------

def _sealed(plaintext_block: bytes, wanted: bytes) -> str:
    """A two-block ``encrypt`` value whose single block decrypts to ``wanted``: CBC's IV flipped to order."""
    raw = base64.b64decode(lark_crypto.encrypt(CREDS["encrypt_key"], plaintext_block.decode()))
    iv, block = raw[:16], raw[16:32]
    padded = plaintext_block + bytes([16 - len(plaintext_block)]) * (16 - len(plaintext_block))
    return base64.b64encode(bytes(a ^ b ^ c for a, b, c in zip(iv, padded, wanted, strict=True)) + block).decode()


OPENINGS = {
    "bad padding": _sealed(b"{}", b"x" * 15 + b"\x00"),
    "good padding, not UTF-8": _sealed(b"{}", b"\xff" * 15 + b"\x01"),
    "good padding, not JSON": _sealed(b"{}", b"not json at all\x01"),
    "good padding, not a handshake": _sealed(b"{}", b'{"type":"x"}\x04\x04\x04\x04'),
    "not base64": "!!!!",
}


def test_bodies_that_cannot_be_opened_all_get_the_same_answer_and_no_decryption_without_signature(
        feishu, monkeypatch):
    """Padding good or bad, signed wrongly or not at all: one status, one body. A body carrying a signature
    that fails is never decrypted; an unsigned one is decrypted only to look for a url_verification."""
    opened = []
    real = lark_crypto.decrypt
    monkeypatch.setattr(feishu_inbound.crypto, "decrypt", lambda *args: opened.append(args) or real(*args))
    answers = set()
    for encrypt in OPENINGS.values():
        raw = json.dumps({"encrypt": encrypt}).encode()
        wrongly_signed = {**_headers(raw), "X-Lark-Signature": lark_crypto.signature("1", "n", "k", raw)}
        for path in (EVENTS, CARD):
            before = len(opened)
            for headers in (wrongly_signed, _headers(b"another body"), _headers(raw, legacy=True, token="guess")):
                response = feishu.http.post(path, body=raw, headers=headers)
                answers.add((response.status_code, response.body, response.headers.get("Content-Type")))
            assert len(opened) == before
            response = feishu.http.post(path, body=raw, headers={"Content-Type": "application/json"})
            answers.add((response.status_code, response.body, response.headers.get("Content-Type")))
    (status, body, content_type), = answers
    assert (status, json.loads(body), content_type) == (400, {"error": "callback_rejected", "message": "refused"},
                                                         "application/json")
    assert len(opened) == 2 * len(OPENINGS)  # the unsigned ones: opened only to find no url_verification


@pytest.mark.parametrize("case", ["bad padding", "good padding, not UTF-8", "not base64"])
def test_every_decryption_failure_gives_the_same_reason(case):
    with pytest.raises(CallbackRejected) as refused:
        lark_crypto.decrypt(CREDS["encrypt_key"], OPENINGS[case])
    assert refused.value.message == lark_crypto.UNOPENED


@pytest.mark.parametrize("header, stamp", [
    ("X-Lark-Signature", None), ("X-Lark-Request-Timestamp", "9" * 400), ("X-Lark-Request-Timestamp", "²"),
    ("X-Lark-Request-Nonce", None)])
def test_odd_signature_headers_are_refused_not_crashed_on(feishu, header, stamp):
    """A non-ASCII signature or nonce, a 400-digit or superscript timestamp (signed over, so the signature holds)."""
    raw = json.dumps({"encrypt": lark_crypto.encrypt(CREDS["encrypt_key"], json.dumps(
        _event("im.chat.member.bot.added_v1", {"chat_id": "oc_odd"})))}).encode()
    headers = _headers(raw, stamp=stamp)
    if stamp is None:
        headers[header] = "签" * len(headers[header])
    assert _refused(feishu.http.post(EVENTS, body=raw, headers=headers))
    assert chats.get("int_fs", "oc_odd") is None


# -- clicks ----------------------------------------------------------------------------------------------------

def _incident(client, admin_headers):
    body = {"version": 1, "incident": {"id": "inc-1", "title": "payments 5xx", "severity": "warning"}}
    assert client.http.post("/incidents", headers=admin_headers, body=json.dumps(body)).status_code == 202


def _linked_alice(client, admin_headers):
    _incident(client, admin_headers)
    member()
    people.bind("alice", "int_fs", "ou_alice", "Alice", clock.iso())


def _click_v2(value: dict, open_id: str = "ou_alice", option: str | None = None) -> dict:
    """``card.action.trigger`` (卡片回传交互): the header's token is the Verification Token, the event's is ``c-…``."""
    action = {"value": value, "tag": "overflow" if option else "button", **({"option": option} if option else {})}
    return _event("card.action.trigger", {
        "operator": {"tenant_key": "tk", "user_id": "u1", "open_id": open_id, "union_id": "on_1"},
        "token": UPDATE_TOKEN, "action": action, "host": "im_message",
        "context": {"open_message_id": "om_1", "open_chat_id": "oc_1"}})


def _click_v1(value: dict, open_id: str = "ou_alice") -> dict:
    """``card.action.trigger_v1`` (消息卡片回传交互（旧）): flat, its token is the card-update credential."""
    return {"open_id": open_id, "user_id": "u1", "open_message_id": "om_1", "open_chat_id": "oc_1",
            "tenant_key": "tk", "token": UPDATE_TOKEN, "action": {"value": value, "tag": "button"}}


def _delivered(message_id: str = "om_1") -> None:
    deliveries.ensure({"incident_id": "inc-1", "target_key": "int_fs#user#ou_alice", "integration_id": "int_fs",
                       "kind": "user", "target": "ou_alice", "state": "sent", "ref": {"message_id": message_id}})


def test_click_by_linked_user_acknowledges_with_toast_and_new_card(feishu, admin_headers):
    _linked_alice(feishu, admin_headers)
    response = _post(feishu, CARD, _click_v2({"action": "ack", "incident_id": "inc-1"}))
    body = json.loads(response.body)
    assert response.status_code == 200 and body["toast"]["type"] == "success"
    card = body["card"]["data"]
    assert card["config"]["update_multi"] is True
    zh = json.dumps(card["i18n_elements"]["zh_cn"], ensure_ascii=False)
    assert "处理中" in zh and '"action": "ack"' not in json.dumps(card)
    assert "Acknowledged" in json.dumps(card["i18n_elements"]["en_us"])


def test_overflow_silence_option_uses_its_minutes(feishu, admin_headers):
    _linked_alice(feishu, admin_headers)
    _post(feishu, CARD, _click_v2({"action": "silence", "incident_id": "inc-1"}, option="silence:1440"))
    incident = json.loads(feishu.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert clock.parse_iso(incident["silenced_until"]) == pytest.approx(clock.now() + 1440 * 60, abs=5)


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_legacy_card_action_trigger_v1_is_applied_and_keeps_its_update_token(feishu, admin_headers, encrypted):
    _linked_alice(feishu, admin_headers)
    _delivered()
    payload = json.dumps(_click_v1({"action": "resolve", "incident_id": "inc-1"}))
    raw = json.dumps({"encrypt": lark_crypto.encrypt(CREDS["encrypt_key"], payload)}) if encrypted else payload
    response = feishu.http.post(CARD, body=raw, headers=_headers(raw.encode(), legacy=True))
    assert response.status_code == 200 and json.loads(response.body)["header"]["template"] == "green"
    ref = deliveries.get("inc-1", "int_fs#user#ou_alice")["ref"]
    assert ref["update_token"] == UPDATE_TOKEN and ref["token_uses"] == 0
    assert json.loads(feishu.http.get("/incidents/inc-1", headers=admin_headers).body)["status"] == "resolved"


def test_a_legacy_click_signed_with_anything_but_the_verification_token_is_refused(feishu, admin_headers):
    _linked_alice(feishu, admin_headers)
    assert _refused(_post(feishu, CARD, _click_v1({"action": "resolve", "incident_id": "inc-1"}), legacy=True,
                          token="guess"))
    assert _refused(_post(feishu, EVENTS, _click_v1({"action": "resolve", "incident_id": "inc-1"}), legacy=True))
    assert json.loads(feishu.http.get("/incidents/inc-1", headers=admin_headers).body)["status"] == "triggered"


def test_a_card_click_keeps_its_update_token_for_the_next_update(feishu, admin_headers):
    _linked_alice(feishu, admin_headers)
    _delivered()
    _post(feishu, CARD, _click_v2({"action": "ack", "incident_id": "inc-1"}))
    assert deliveries.get("inc-1", "int_fs#user#ou_alice")["ref"]["update_token"] == UPDATE_TOKEN


def test_click_by_unlinked_user_changes_nothing(feishu, admin_headers, monkeypatch):
    from chalicelib.platforms.feishu.adapter import Feishu
    monkeypatch.setattr(Feishu, "_api", lambda self, *args, **kwargs: {"data": {}})  # the direct message
    _incident(feishu, admin_headers)
    body = json.loads(_post(feishu, CARD, _click_v2({"action": "ack", "incident_id": "inc-1"}, "ou_x")).body)
    assert body["toast"]["type"] == "error" and "未关联应用" in body["toast"]["content"]
    assert json.loads(feishu.http.get("/incidents/inc-1", headers=admin_headers).body)["status"] == "triggered"


def test_a_click_recorded_by_a_deployed_version_is_found_and_its_ref_updated(feishu, admin_headers):
    """The ref as deployed versions stored it after an earlier click: the new click still names its card."""
    _linked_alice(feishu, admin_headers)
    deliveries.ensure({"incident_id": "inc-1", "target_key": "int_fs#user#ou_alice", "integration_id": "int_fs",
                       "kind": "user", "target": "ou_alice", "state": "sent", "ref": {
                           "message_id": "om_1", "update_token": "c-old", "token_at": 1700000000, "token_uses": 2}})
    _post(feishu, CARD, _click_v2({"action": "ack", "incident_id": "inc-1"}))
    ref = deliveries.get("inc-1", "int_fs#user#ou_alice")["ref"]
    assert (ref["message_id"], ref["update_token"], ref["token_uses"]) == ("om_1", UPDATE_TOKEN, 0)


def _recorded_api(monkeypatch) -> list:
    """Feishu's API as the adapter calls it, recorded instead of made."""
    from chalicelib.platforms.feishu.adapter import Feishu
    sent = []
    monkeypatch.setattr(Feishu, "_api", lambda self, method, path, body=None, query=None: sent.append(
        (method, path, body, query)) or {"data": {}})
    return sent


def _run_deliveries() -> list[dict]:
    jobs = drain("deliveries")
    for job in jobs:
        worker.handle_delivery(json.dumps(job["body"]))
    return [job["body"] for job in jobs]


def test_an_unlinked_clicker_gets_the_linking_link_as_a_direct_message(feishu, admin_headers, monkeypatch):
    sent = _recorded_api(monkeypatch)
    _incident(feishu, admin_headers)
    drain("deliveries")
    _post(feishu, CARD, _click_v2({"action": "ack", "incident_id": "inc-1"}, "ou_x"))
    assert sent == []  # the answer is only rendered: the message follows through the deliveries queue
    (job,) = _run_deliveries()
    assert (job["notice"], job["kind"], job["target"]) == ("direct_message", "user", "ou_x")
    (method, path, body, query), = sent
    assert (method, path, query, body["receive_id"]) == ("POST", "/open-apis/im/v1/messages",
                                                         {"receive_id_type": "open_id"}, "ou_x")
    assert "/app/int_fs?pending=" in json.loads(body["content"])["text"]


def test_direct_messages_keep_to_feishus_five_a_second_to_one_person(feishu, admin_headers, monkeypatch):
    """Six unlinked clicks by one person within a second: the sixth link waits for its slot, as Feishu allows
    5 messages a second to one user (sent from inside the click's answer, all six went out at once)."""
    now = clock.now()
    monkeypatch.setattr(clock, "now", lambda: now)
    sent = _recorded_api(monkeypatch)
    _incident(feishu, admin_headers)
    drain("deliveries")
    for _ in range(6):
        _post(feishu, CARD, _click_v2({"action": "ack", "incident_id": "inc-1"}, "ou_x"))
    requeued, waits = [], []
    monkeypatch.setattr(queues, "deliver", lambda jobs, delay=0: requeued.extend(jobs))
    monkeypatch.setattr(pacing, "sleep", waits.append)  # a slot a moment away is waited for in the handler
    assert len(_run_deliveries()) == 6 and len(sent) == 6 and requeued == []
    assert [wait for wait in waits if wait > 0] and max(waits) >= 0.5  # the sixth waited for the next second


# -- malformed but properly signed payloads: refused, never a 500 ------------------------------------------------

def _v2(**event) -> dict:
    click = _click_v2({"action": "silence", "incident_id": "inc-1", "minutes": 120})
    click["event"].update(event)
    return click


def _value(**value) -> dict:
    return _click_v2({"action": "silence", "incident_id": "inc-1", **value})


MALFORMED = {
    "header not an object": {**_v2(), "header": ["card.action.trigger"]},
    "header event_id not a string": {**_v2(), "header": {**_v2()["header"], "event_id": 7}},
    "event_id over 128 characters": {**_v2(), "header": {**_v2()["header"], "event_id": "e" * 3000}},
    "event not an object": {**_v2(), "event": "x"},
    "operator not an object": _v2(operator="ou_alice"),
    "no operator": {**_v2(), "event": {k: v for k, v in _v2()["event"].items() if k != "operator"}},
    "action not an object": _v2(action=[1]),
    "value not an object": _v2(action={"value": "silence", "tag": "button"}),
    "value without incident": _v2(action={"value": {"action": "ack"}, "tag": "button"}),
    "incident id of 3000 characters": _value(incident_id="i" * 3000),
    "unknown action": _value(action="delete"),
    "minutes superscript": _value(minutes="²"),
    "minutes negative": _value(minutes=-5),
    "minutes a float": _value(minutes=1.5),
    "minutes true": _value(minutes=True),
    "minutes a million": _value(minutes=1_000_000),
    "minutes past the admin bound": _value(minutes=MAX_SILENCE_MINUTES + 1),
    "minutes of 400 digits": _value(minutes="9" * 400),
    "option minutes not digits": _click_v2({"action": "silence", "incident_id": "inc-1"}, option="silence:1e9"),
    "context not an object": _v2(context="om_1"),
    "token not a string": _v2(token=["c-1"]),
    "legacy open_id not a string": {**_click_v1({"action": "silence", "incident_id": "inc-1"}), "open_id": 5},
    "legacy action not an object": {**_click_v1({"action": "silence", "incident_id": "inc-1"}), "action": "x"},
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_card_actions_are_refused_and_change_nothing(feishu, admin_headers, case):
    _linked_alice(feishu, admin_headers)
    assert _refused(_post(feishu, CARD, MALFORMED[case]))
    incident = json.loads(feishu.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert incident["status"] == "triggered" and not incident["silenced_until"]


@pytest.mark.parametrize("body", ['{"schema": "2.0", "n": ' + "1" * 5000 + "}", "[" * 40000],
                         ids=["5000-digit number", "40 KB of nesting"])
def test_bodies_json_cannot_hold_are_refused(feishu, body):
    assert _refused(_post(feishu, EVENTS, body))
    assert _refused(_post(feishu, CARD, body, sign=False, encrypt_key=None))


@pytest.mark.parametrize("event", [{"chat_id": ["oc_1"]}, {"chat_id": "c" * 3000}, {"name": "no chat"},
                                   {"chat_id": "oc_1", "after_change": "SRE"}])
def test_malformed_chat_events_are_refused(feishu, event):
    assert _refused(_post(feishu, EVENTS, _event("im.chat.updated_v1", event)))
    assert _refused(_post(feishu, EVENTS, {**_event("im.chat.member.bot.added_v1", {}), "event": "oc_1"}))


def test_the_longest_silence_the_admin_api_allows_is_taken_from_a_card(feishu, admin_headers):
    _linked_alice(feishu, admin_headers)
    assert _post(feishu, CARD, _value(minutes=str(MAX_SILENCE_MINUTES))).status_code == 200
    incident = json.loads(feishu.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert clock.parse_iso(incident["silenced_until"]) == pytest.approx(clock.now() + MAX_SILENCE_MINUTES * 60, abs=5)


@pytest.mark.parametrize("shape", [_click_v2, _click_v1], ids=["card.action.trigger", "card.action.trigger_v1"])
def test_an_unsilence_click_reaches_the_incident_as_unsilence(feishu, admin_headers, shape):
    """The 取消屏蔽 button's value {"action": "unsilence", "incident_id"} in either documented click payload."""
    _linked_alice(feishu, admin_headers)
    _delivered()
    value, legacy = {"action": "unsilence", "incident_id": "inc-1"}, shape is _click_v1
    feishu.http.post("/incidents/inc-1/actions", headers=admin_headers,
                     body=json.dumps({"action": "silence", "by": "alice"}))
    assert _post(feishu, CARD, shape(value), legacy=legacy).status_code == 200
    incident = json.loads(feishu.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert not incident.get("silenced_until") and incident["timeline"][-1]["action"] == "unsilence"


# -- offboarding ---------------------------------------------------------------------------------------------

def _deleted(open_id: object) -> dict:
    """员工离职 (open.feishu.cn server-docs/contact-v3/user/events/deleted): ``event.object`` is the user who
    left (open_id, union_id, user_id, name, ...), ``event.old_object`` what they were."""
    return _event("contact.user.deleted_v3", {
        "object": {"open_id": open_id, "union_id": "on_alice", "user_id": "e33ggbyz", "name": "Alice",
                   "status": {"is_frozen": False, "is_resigned": True, "is_activated": True, "is_exited": False}},
        "old_object": {"department_ids": ["od-1"], "open_id": open_id}})


def test_contact_user_deleted_revokes_the_binding_held_by_open_id(feishu):
    member("alice", "Alice")
    people.bind("alice", "int_fs", "ou_alice", "Alice", clock.iso())
    response = _post(feishu, EVENTS, _deleted("ou_alice"))
    assert response.status_code == 200 and json.loads(response.body) == {"msg": "success"}
    assert people.binding("alice", "int_fs") is None
    assert people.get_member("alice")["left"]["int_fs"]["event"] == "contact.user.deleted_v3"


def test_a_deleted_user_bound_to_nobody_is_acknowledged(feishu):
    assert _post(feishu, EVENTS, _deleted("ou_stranger")).status_code == 200


@pytest.mark.parametrize("open_id", ["", 42, None], ids=["empty", "number", "missing"])
def test_a_contact_user_deleted_of_the_wrong_shape_is_refused(feishu, open_id):
    member("alice", "Alice")
    people.bind("alice", "int_fs", "ou_alice", "Alice", clock.iso())
    assert _refused(_post(feishu, EVENTS, _deleted(open_id)))
    assert people.binding("alice", "int_fs") is not None
