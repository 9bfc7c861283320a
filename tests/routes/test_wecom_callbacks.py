"""WeCom's callback URL through the real routes: GET verification, encrypted XML, card clicks."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from chalicelib import clock
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
    return (f"<xml><ToUserName><![CDATA[{CREDS['corp_id']}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
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
