"""WeCom's callback URL through the real routes: GET verification, encrypted XML, card clicks."""
from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest

from chalicelib.common import clock
from chalicelib.flows import consumers as worker
from chalicelib.platforms.msgcrypt import MsgCrypt
from chalicelib.store import deliveries, people
from tests.conftest import drain
from tests.factories import member, stored_integration

CREDS = {"corp_id": "ww1436e0e65a779aee", "agent_id": "1000002", "secret": "s3cret-value-wecom",
         "token": "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "encoding_aes_key": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"}
URL = "/callbacks/int_wc/events"


@pytest.fixture
def wecom(client):
    stored_integration("wecom", "int_wc", **CREDS)
    return client


def _crypt(corp: str = CREDS["corp_id"]) -> MsgCrypt:
    return MsgCrypt(CREDS["token"], CREDS["encoding_aes_key"], corp)


def _signed_query(encrypt: str, timestamp: str | None = None, token_crypt: MsgCrypt | None = None) -> str:
    timestamp = timestamp or str(int(clock.now()))
    signature = (token_crypt or _crypt()).sign(timestamp, "1597212914", encrypt)
    return f"msg_signature={signature}&timestamp={timestamp}&nonce=1597212914"


def test_get_verification_answers_the_bare_plaintext(wecom):
    echostr = _crypt().encrypt("1288432023552776189")
    response = wecom.http.get(f"{URL}?{_signed_query(echostr)}&echostr={quote(echostr, safe='')}")
    assert response.status_code == 200 and response.body == b"1288432023552776189"
    assert response.headers["Content-Type"].startswith("text/plain")


def _post(client, inner: str, **kwargs):
    encrypt = _crypt(kwargs.pop("corp", CREDS["corp_id"])).encrypt(inner)
    body = f"<xml><ToUserName><![CDATA[{CREDS['corp_id']}]]></ToUserName><AgentID>1000002</AgentID>" \
           f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return client.http.post(f"{URL}?{_signed_query(encrypt, **kwargs)}", body=body,
                            headers={"Content-Type": "text/xml"})


def _card_event(key: str, user: str = "zhangsan", code: str = "code-2") -> str:
    return (f"<xml><ToUserName><![CDATA[{CREDS['corp_id']}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(clock.now())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
            f"<TaskId><![CDATA[dbtask1]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
            f"<ResponseCode><![CDATA[{code}]]></ResponseCode><AgentID>1000002</AgentID></xml>")


def _incident_with_card(client, admin_headers) -> None:
    body = {"version": 1, "incident": {"id": "inc-1", "title": "api 5xx", "severity": "critical"}}
    client.http.post("/incidents", headers=admin_headers, body=json.dumps(body))
    member()
    people.bind("alice", "int_wc", "zhangsan", "Alice", clock.iso())
    deliveries.ensure({"incident_id": "inc-1", "target_key": "int_wc#user#zhangsan", "integration_id": "int_wc",
                       "kind": "user", "target": "zhangsan", "state": "sent",
                       "ref": {"task_id": "dbtask1", "user": "zhangsan"}})


def test_card_click_acknowledges_keeps_the_fresh_code_and_queues_the_update(wecom, admin_headers):
    _incident_with_card(wecom, admin_headers)
    drain("deliveries")
    response = _post(wecom, _card_event("ack/0/inc-1"))
    assert response.status_code == 200 and response.body == b""
    incident = json.loads(wecom.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert incident["status"] == "acknowledged" and incident["timeline"][-1]["source"] == "wecom"
    assert deliveries.get("inc-1", "int_wc#user#zhangsan")["ref"]["response_code"] == "code-2"
    assert [job["body"]["target"] for job in drain("deliveries")] == ["zhangsan"]


def test_refresh_button_changes_nothing_but_earns_an_update(wecom, admin_headers):
    _incident_with_card(wecom, admin_headers)
    _post(wecom, _card_event("refresh/0/inc-1", code="code-9"))
    assert json.loads(wecom.http.get("/incidents/inc-1", headers=admin_headers).body)["status"] == "triggered"
    assert deliveries.get("inc-1", "int_wc#user#zhangsan")["ref"]["response_code"] == "code-9"


def test_a_click_on_a_card_recorded_by_a_deployed_version_keeps_its_fresh_code(wecom, admin_headers):
    """The ref as deployed versions stored it once its code was spent: the click still names its card."""
    _incident_with_card(wecom, admin_headers)
    deliveries.record("inc-1", "int_wc#user#zhangsan", ref={"task_id": "dbtask1", "user": "zhangsan",
                                                           "response_code": None, "code_at": None})
    _post(wecom, _card_event("refresh/0/inc-1", code="code-7"))
    ref = deliveries.get("inc-1", "int_wc#user#zhangsan")["ref"]
    assert (ref["task_id"], ref["user"], ref["response_code"]) == ("dbtask1", "zhangsan", "code-7")


def test_a_refused_click_is_explained_in_an_app_message_sent_through_the_deliveries_queue(
        wecom, admin_headers, monkeypatch):
    from chalicelib.platforms.wecom.adapter import WeCom
    sent = []
    monkeypatch.setattr(WeCom, "_api", lambda self, method, path, body=None, params=None: sent.append(
        (method, path, body)) or {})
    _incident_with_card(wecom, admin_headers)
    drain("deliveries")
    response = _post(wecom, _card_event("ack/0/inc-1", user="lisi"))  # nobody linked lisi
    assert response.status_code == 200 and response.body == b"" and sent == []
    jobs = drain("deliveries")
    assert [(job["body"]["notice"], job["body"]["target"]) for job in jobs] == [("direct_message", "lisi")]
    worker.handle_delivery(json.dumps(jobs[0]["body"]))
    (method, path, body), = sent
    assert (method, path, body["touser"], body["msgtype"]) == ("POST", "/cgi-bin/message/send", "lisi", "text")
    assert body["text"]["content"].startswith("未关联应用")
    assert "\nhttps://duty.example.com/app/int_wc?pending=" in body["text"]["content"]


def test_the_same_click_redelivered_is_applied_once(wecom, admin_headers):
    _incident_with_card(wecom, admin_headers)
    event = _card_event("silence/120/inc-1")
    _post(wecom, event)
    _post(wecom, event)
    timeline = json.loads(wecom.http.get("/incidents/inc-1", headers=admin_headers).body)["timeline"]
    assert [e["action"] for e in timeline].count("silence") == 1


@pytest.mark.parametrize("case", ["forged", "stale", "other_corp", "not_xml", "xxe", "bad_key"])
def test_bad_callbacks_are_refused_without_touching_state(wecom, admin_headers, case):
    _incident_with_card(wecom, admin_headers)
    if case == "forged":
        response = _post(wecom, _card_event("ack/0/inc-1"), token_crypt=MsgCrypt("forged", CREDS["encoding_aes_key"],
                                                                                  CREDS["corp_id"]))
    elif case == "stale":
        response = _post(wecom, _card_event("ack/0/inc-1"), timestamp=str(int(clock.now()) - 7200))
    elif case == "other_corp":
        response = _post(wecom, _card_event("ack/0/inc-1"), corp="wwOTHER")
    elif case == "not_xml":
        response = wecom.http.post(f"{URL}?msg_signature=x&timestamp=1&nonce=1", body="{not xml",
                                   headers={"Content-Type": "text/xml"})
    elif case == "xxe":
        evil = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'
        response = wecom.http.post(f"{URL}?msg_signature=x&timestamp=1&nonce=1", body=evil,
                                   headers={"Content-Type": "text/xml"})
    else:
        response = _post(wecom, _card_event("launch-missiles/0/inc-1"))
    assert 400 <= response.status_code < 500
    assert json.loads(wecom.http.get("/incidents/inc-1", headers=admin_headers).body)["status"] == "triggered"


def test_trusted_domain_verification_file_is_served_from_the_root(client):
    stored_integration("wecom", "int_wv", **CREDS)
    from chalicelib.store import integrations as store
    item = store.get("int_wv")
    item["settings"] = {"verify_file": "WW_verify_AbC123.txt", "verify_content": "AbC123xyz"}
    store.replace(item)
    response = client.http.get("/WW_verify_AbC123.txt")
    assert response.status_code == 200 and response.body == b"AbC123xyz"
    assert client.http.get("/WW_verify_nope.txt").status_code == 404
    assert client.http.get("/healthz").status_code == 200


# -- nothing is opened before the signature holds, and every refusal reads the same ---------------------------
REFUSED = {"error": "callback_rejected", "message": "refused"}


def _outer(encrypt: str) -> str:
    return (f"<xml><ToUserName><![CDATA[{CREDS['corp_id']}]]></ToUserName><AgentID>1000002</AgentID>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")


def _with_last_byte(encrypt: str, inner: str, last: int) -> str:
    """CBC malleability: flip the second-to-last block so the plaintext's last byte becomes ``last``
    (1 is valid PKCS#7 padding, 0 is not), as a padding-oracle attacker would."""
    data = bytearray(base64.b64decode(encrypt))
    plain_length = 20 + len(inner.encode()) + len(CREDS["corp_id"])
    pad = 32 - plain_length % 32
    data[-17] ^= pad ^ last
    return base64.b64encode(bytes(data)).decode()


def _answer(response) -> tuple:
    return response.status_code, response.body, response.headers.get("Content-Type")


@pytest.mark.parametrize("signed", [False, True], ids=["original_signature", "resigned"])
def test_tampered_bodies_get_byte_identical_answers_whatever_their_padding(wecom, signed):
    inner = _card_event("ack/0/inc-1")
    encrypt = _crypt().encrypt(inner)
    answers = []
    for last in (1, 0):
        forged = _with_last_byte(encrypt, inner, last)
        query = _signed_query(forged if signed else encrypt)
        answers.append(_answer(wecom.http.post(f"{URL}?{query}", body=_outer(forged),
                                               headers={"Content-Type": "text/xml"})))
    assert answers[0] == answers[1]
    assert answers[0][0] == 400 and json.loads(answers[0][1]) == REFUSED


@pytest.fixture
def openings(monkeypatch):
    """Every decryption attempted, in order (the real one still runs)."""
    seen, real = [], MsgCrypt.open

    def spy(self, encrypt):
        seen.append(encrypt)
        return real(self, encrypt)

    monkeypatch.setattr(MsgCrypt, "open", spy)
    return seen


def test_nothing_is_decrypted_before_the_signature_holds(wecom, openings):
    echostr = _crypt().encrypt("1288432023552776189")
    bad_get = _signed_query(echostr).replace("msg_signature=", "msg_signature=0")
    encrypt = _crypt().encrypt(_card_event("ack/0/inc-1"))
    bad_post = _signed_query(encrypt, token_crypt=MsgCrypt("forged", CREDS["encoding_aes_key"], CREDS["corp_id"]))
    assert wecom.http.get(f"{URL}?{bad_get}&echostr={quote(echostr, safe='')}").status_code == 400
    answer = wecom.http.post(f"{URL}?{bad_post}", body=_outer(encrypt), headers={"Content-Type": "text/xml"})
    assert answer.status_code == 400
    assert openings == []
    assert wecom.http.get(f"{URL}?{_signed_query(echostr)}&echostr={quote(echostr, safe='')}").status_code == 200
    assert openings == [echostr]


# -- malformed input: refused, never a 500 ----------------------------------------------------------------------
def _raw(client, query: str, body: str | bytes):
    return client.http.post(f"{URL}?{query}", body=body, headers={"Content-Type": "text/xml"})


def _signed_post(client, inner: str):
    return _post(client, inner)


def _doctype_around_a_good_envelope(client):
    encrypt = _crypt().encrypt(_event())
    return _raw(client, _signed_query(encrypt), "<!DOCTYPE xml>" + _outer(encrypt))


def _event(**fields: str) -> str:
    base = {"ToUserName": CREDS["corp_id"], "FromUserName": "zhangsan", "CreateTime": str(int(clock.now())),
            "MsgType": "event", "Event": "template_card_event", "EventKey": "ack/0/inc-1", "TaskId": "dbtask1",
            "ResponseCode": "code-2"}
    base.update(fields)
    return "<xml>" + "".join(f"<{k}>{v}</{k}>" for k, v in base.items() if v is not None) + "</xml>"


UNSIGNED = {
    "superscript_timestamp": lambda c: _raw(c, "msg_signature=x&timestamp=%C2%B2&nonce=1", _outer("QUJD")),
    "400_digit_timestamp": lambda c: _raw(c, f"msg_signature=x&timestamp={'9' * 400}&nonce=1", _outer("QUJD")),
    "non_ascii_signature": lambda c: _raw(c, f"msg_signature=%E7%AD%BE&timestamp={int(clock.now())}&nonce=1",
                                          _outer("QUJD")),
    "non_ascii_signature_get": lambda c: c.http.get(
        f"{URL}?msg_signature=%E7%AD%BE&timestamp={int(clock.now())}&nonce=1&echostr=QUJD"),
    "non_ascii_nonce": lambda c: _raw(c, f"msg_signature=x&timestamp={int(clock.now())}&nonce=%E7%AD%BE",
                                      _outer("QUJD")),
    "doctype_around_a_good_envelope": lambda c: _doctype_around_a_good_envelope(c),
    "entities": lambda c: _raw(c, "msg_signature=x&timestamp=1&nonce=1",
                               '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
                               '<xml><Encrypt>&b;</Encrypt></xml>'),
    "unknown_encoding": lambda c: _raw(c, "msg_signature=x&timestamp=1&nonce=1",
                                       b'<?xml version="1.0" encoding="x-nope"?><xml><Encrypt>QUJD</Encrypt></xml>'),
    "deeply_nested": lambda c: _raw(c, "msg_signature=x&timestamp=1&nonce=1",
                                    "<xml>" + "<a>" * 8000 + "</a>" * 8000 + "</xml>"),
    "nested_brackets": lambda c: _raw(c, "msg_signature=x&timestamp=1&nonce=1", "[" * 60000),
    "encrypt_not_text": lambda c: _raw(c, "msg_signature=x&timestamp=1&nonce=1",
                                       "<xml><Encrypt><a>QUJD</a></Encrypt></xml>"),
    "another_root": lambda c: _raw(c, f"msg_signature=x&timestamp={int(clock.now())}&nonce=1",
                                   "<html><Encrypt>QUJD</Encrypt></html>"),
    "json_body": lambda c: c.http.post(f"{URL}?msg_signature=x&timestamp=1&nonce=1", body='{"Encrypt": "QUJD"}',
                                       headers={"Content-Type": "application/json"}),
}
SIGNED = {
    "superscript_minutes": _event(EventKey="silence/²/inc-1"),
    "5000_digit_minutes": _event(EventKey=f"silence/{'9' * 5000}/inc-1"),
    "fullwidth_digit_minutes": _event(EventKey="silence/１２０/inc-1"),
    "incident_id_of_3000_bytes": _event(EventKey="ack/0/" + "i" * 3000),
    "incident_id_with_slash": _event(EventKey="ack/0/inc-1/../x"),
    "no_sender": _event(FromUserName=None),
    "empty_sender": _event(FromUserName=""),
    "sender_of_3000_bytes": _event(FromUserName="u" * 3000),
    "key_not_text": _event(EventKey="<a>ack/0/inc-1</a>"),
    "inner_doctype": "<!DOCTYPE xml>" + _event(),
    "inner_not_xml": "ack/0/inc-1",
    "absurd_create_time": _event(MsgType="text", Event=None, CreateTime="9" * 400, Content="hi"),
}


@pytest.mark.parametrize("case", list(UNSIGNED) + list(SIGNED))
def test_malformed_callbacks_are_refused_never_a_500(wecom, admin_headers, case):
    _incident_with_card(wecom, admin_headers)
    response = UNSIGNED[case](wecom) if case in UNSIGNED else _signed_post(wecom, SIGNED[case])
    assert response.status_code == 400 and json.loads(response.body) == REFUSED
    assert json.loads(wecom.http.get("/incidents/inc-1", headers=admin_headers).body)["status"] == "triggered"


def test_a_long_message_id_is_kept_short_for_the_dedupe_record(wecom):
    assert _post(wecom, _event(MsgType="text", Event=None, MsgId="9" * 3000, Content="hi")).status_code == 200


def test_an_unsilence_click_reaches_the_incident_as_unsilence(wecom, admin_headers):
    """The 取消屏蔽 button's key ``unsilence/0/<incident>`` in a documented template_card_event."""
    _incident_with_card(wecom, admin_headers)
    wecom.http.post("/incidents/inc-1/actions", headers=admin_headers,
                    body=json.dumps({"action": "silence", "by": "alice"}))
    assert _post(wecom, _card_event("unsilence/0/inc-1")).status_code == 200
    incident = json.loads(wecom.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert not incident.get("silenced_until") and incident["timeline"][-1]["action"] == "unsilence"


# -- offboarding -----------------------------------------------------------------------------------

def _member_deleted(user_id: str, created: int | None = None) -> str:
    """删除成员事件 as the self-built app's callback carries it (成员变更通知, document path/90970):
    FromUserName sys, Event change_contact, ChangeType delete_user, UserID."""
    return (f"<xml><ToUserName><![CDATA[{CREDS['corp_id']}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{created or int(clock.now())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[change_contact]]></Event><ChangeType>delete_user</ChangeType>"
            f"<UserID><![CDATA[{user_id}]]></UserID></xml>")


def test_delete_user_revokes_the_binding_and_two_in_one_second_are_both_applied(wecom):
    member("alice", "Alice")
    member("bob", "Bob", "13800000002")
    people.bind("alice", "int_wc", "zhangsan", "Alice", clock.iso())
    people.bind("bob", "int_wc", "lisi", "Bob", clock.iso())
    second = int(clock.now())
    response = _post(wecom, _member_deleted("zhangsan", second))
    assert response.status_code == 200 and response.body == b""
    _post(wecom, _member_deleted("lisi", second))
    assert people.binding("alice", "int_wc") is None and people.binding("bob", "int_wc") is None
    assert people.get_member("alice")["left"]["int_wc"]["event"] == "change_contact/delete_user"


def test_other_contact_changes_and_unknown_members_change_nothing(wecom):
    member("alice", "Alice")
    people.bind("alice", "int_wc", "zhangsan", "Alice", clock.iso())
    update = _member_deleted("zhangsan").replace("delete_user", "update_user")
    assert _post(wecom, update).status_code == 200
    assert _post(wecom, _member_deleted("wangwu")).status_code == 200
    assert people.binding("alice", "int_wc") is not None


def test_a_delete_user_without_its_userid_is_refused(wecom):
    assert _post(wecom, _member_deleted("")).status_code == 400
