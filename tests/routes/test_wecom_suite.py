"""WeCom third-party mode: the suite's instruction callbacks, authorisation, claiming, routed clicks."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from chalicelib.common import clock
from chalicelib.common.errors import Permanent
from chalicelib.platforms import adapter_for
from chalicelib.platforms.msgcrypt import MsgCrypt
from chalicelib.platforms.wecom import suite as wecom_suite
from chalicelib.store import integrations as integration_store
from chalicelib.store import people, providers
from tests.routes.test_wecom_callbacks import openings  # noqa: F401 - the decryption spy

PROVIDER = "wwprovider01"
SUITE = {"provider_corp_id": PROVIDER, "suite_id": "wwsuite0001", "suite_secret": "suite-secret-value",
         "token": "SuiteToken1", "encoding_aes_key": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "api_base": "https://qyapi.example.com"}
CORP = "wwcorpA0001"
URL = "/callbacks/wecom-suite"


@pytest.fixture
def suite(client, admin_headers, monkeypatch):
    calls = []

    def fake_suite_call(method, path, body=None, params=None):
        calls.append(path)
        if path.endswith("get_permanent_code"):
            return {"permanent_code": "perm-123", "auth_corp_info": {"corpid": CORP, "corp_name": "示例公司"},
                    "auth_info": {"agent": [{"agentid": 1000017, "name": "dutybridge"}]}}
        if path.endswith("get_corp_token"):
            assert body == {"auth_corpid": CORP, "permanent_code": "perm-123"}
            return {"access_token": "corp-token", "expires_in": 7200}
        raise AssertionError(path)

    monkeypatch.setattr(wecom_suite, "suite_call", fake_suite_call)
    response = client.http.put("/providers/wecom-suite", headers=admin_headers, body=json.dumps(SUITE))
    assert response.status_code == 200
    return calls


def _instruction(client, inner: str, owner: str = SUITE["suite_id"], to: str = SUITE["suite_id"]):
    crypt = MsgCrypt(SUITE["token"], SUITE["encoding_aes_key"], owner)
    encrypt, stamp = crypt.encrypt(inner), str(int(clock.now()))
    query = f"msg_signature={crypt.sign(stamp, 'n1', encrypt)}&timestamp={stamp}&nonce=n1"
    body = f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return client.http.post(f"{URL}?{query}", body=body, headers={"Content-Type": "text/xml"})


def _info(kind: str, **fields: str) -> str:
    extra = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return f"<xml><SuiteId><![CDATA[{SUITE['suite_id']}]]></SuiteId><InfoType><![CDATA[{kind}]]></InfoType>" \
           f"<TimeStamp>{int(clock.now())}</TimeStamp>{extra}</xml>"


def test_suite_view_masks_secrets_and_shows_the_callback_url(client, admin_headers, suite):
    view = json.loads(client.http.get("/providers/wecom-suite", headers=admin_headers).body)
    assert view["urls"]["instruction_callback"].endswith("/callbacks/wecom-suite")
    assert SUITE["suite_secret"] not in json.dumps(view) and view["ticket_received"] is False


def test_suite_ticket_is_kept(client, admin_headers, suite):
    assert _instruction(client, _info("suite_ticket", SuiteTicket="ticket-1")).body == b"success"
    assert json.loads(client.http.get("/providers/wecom-suite", headers=admin_headers).body)["ticket_received"]


def test_saving_before_the_organisation_installed_the_app_says_authorize_app_first(client, admin_headers, suite):
    body = {"platform": "wecom", "name": "示例", "credentials": {"corp_id": CORP}, "settings": {"mode": "third_party"}}
    response = client.http.post("/integrations", headers=admin_headers, body=json.dumps(body))
    assert response.status_code == 422 and "authorize app first" in json.loads(response.body)["message"]


def test_authorisation_opens_the_integration_and_the_admin_claims_it_with_the_corp_id(client, admin_headers, suite):
    _instruction(client, _info("create_auth", AuthCode="auth-code-1"))
    opened = wecom_suite.integration_id(CORP)
    body = {"platform": "wecom", "name": "示例公司值班", "credentials": {"corp_id": CORP},
            "settings": {"mode": "third_party"}}
    response = client.http.post("/integrations", headers=admin_headers, body=json.dumps(body))
    view = json.loads(response.body)
    assert response.status_code == 201 and view["id"] == opened and view["name"] == "示例公司值班"
    assert view["urls"]["callback"].endswith("/callbacks/wecom-suite")
    assert suite[-1].endswith("get_corp_token")


def test_a_click_in_the_organisation_is_routed_to_its_integration(client, admin_headers, suite):
    _instruction(client, _info("create_auth", AuthCode="auth-code-1"))
    client.http.post("/incidents", headers=admin_headers, body=json.dumps(
        {"version": 1, "incident": {"id": "inc-1", "title": "db", "severity": "critical"}}))
    client.http.post("/members", headers=admin_headers, body=json.dumps({"id": "alice", "name": "Alice"}))
    people.bind("alice", wecom_suite.integration_id(CORP), "zhangsan", "Alice", clock.iso())
    event = (f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
             f"<CreateTime>{int(clock.now())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
             "<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[ack/0/inc-1]]></EventKey>"
             "<TaskId><![CDATA[t1]]></TaskId><ResponseCode><![CDATA[rc]]></ResponseCode></xml>")
    assert _instruction(client, event, owner=CORP, to=CORP).status_code == 200
    incident = json.loads(client.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert incident["status"] == "acknowledged" and incident["timeline"][-1]["by"] == "alice"


def test_cancel_auth_withdraws_the_grant_and_the_integration_shows_it_failing(client, admin_headers, suite):
    """取消授权通知 (document 90642): SuiteId, InfoType cancel_auth, TimeStamp, AuthCorpId."""
    _instruction(client, _info("create_auth", AuthCode="auth-code-1"))
    body = {"platform": "wecom", "name": "示例公司值班", "credentials": {"corp_id": CORP},
            "settings": {"mode": "third_party"}}
    opened = json.loads(client.http.post("/integrations", headers=admin_headers, body=json.dumps(body)).body)["id"]
    adapter = adapter_for(integration_store.get(opened))
    assert adapter.token() == "corp-token"  # kept, in this container and in the table, as deliveries keep it
    assert _instruction(client, _info("cancel_auth", AuthCorpId=CORP)).body == b"success"
    grant = providers.get(f"wecom-suite#grant#{CORP}")
    assert grant["cancelled_at"] and "sealed" not in grant  # the permanent code is gone, the mark stays
    with pytest.raises(Permanent, match="授权已取消") as refused:  # what the next delivery records
        adapter.token()
    assert refused.value.platform_code == "cancel_auth"
    listed = json.loads(client.http.get("/integrations", headers=admin_headers).body)
    (summary,) = [view["health"] for view in listed if view["id"] == opened]  # not deleted: failing, and why
    assert summary["state"] == "failing" and "授权已取消" in summary["problems"][0]
    health = json.loads(client.http.get(f"/integrations/{opened}/health", headers=admin_headers).body)
    assert health["state"] == "failing" and health["token"]["app"]["code"] == "cancel_auth"
    assert "authorisation cancelled" in health["problems"][0]
    _instruction(client, _info("create_auth", AuthCode="auth-code-2"))  # installed again: granted again
    assert wecom_suite.corp_token(CORP) == ("corp-token", 7200)


@pytest.mark.parametrize("case", ["forged", "other_suite", "unknown_corp"])
def test_bad_suite_callbacks_are_refused(client, suite, case):
    if case == "forged":
        crypt = MsgCrypt("wrong", SUITE["encoding_aes_key"], SUITE["suite_id"])
        encrypt, stamp = crypt.encrypt(_info("suite_ticket", SuiteTicket="x")), str(int(clock.now()))
        response = client.http.post(f"{URL}?msg_signature={crypt.sign(stamp, 'n', encrypt)}&timestamp={stamp}&nonce=n",
                                    body=f"<xml><ToUserName>{SUITE['suite_id']}</ToUserName><Encrypt>{encrypt}</Encrypt></xml>",
                                    headers={"Content-Type": "text/xml"})
    elif case == "other_suite":
        response = _instruction(client, _info("suite_ticket", SuiteTicket="x").replace(SUITE["suite_id"], "wwother"))
    else:
        response = _instruction(client, "<xml><ToUserName>wwNOPE</ToUserName></xml>", owner="wwNOPE", to="wwNOPE")
    assert 400 <= response.status_code < 500


# -- receive ids: each kind of callback is opened for exactly one owner ------------------------------------------
REFUSED = {"error": "callback_rejected", "message": "refused"}


def _url_check(client, owner: str):
    crypt = MsgCrypt(SUITE["token"], SUITE["encoding_aes_key"], owner)
    echostr, stamp = crypt.encrypt("5927348123456789012"), str(int(clock.now()))
    return client.http.get(f"{URL}?msg_signature={crypt.sign(stamp, 'n2', echostr)}&timestamp={stamp}&nonce=n2"
                           f"&echostr={quote(echostr, safe='')}")


def test_url_checks_are_opened_with_the_providers_corp_id(client, suite):
    answer = _url_check(client, PROVIDER)
    assert answer.status_code == 200 and answer.body == b"5927348123456789012"


@pytest.mark.parametrize("owner", [SUITE["suite_id"], CORP, "wwsomeoneelse"])
def test_url_checks_for_any_other_receive_id_are_refused(client, suite, owner):
    answer = _url_check(client, owner)
    assert answer.status_code == 400 and json.loads(answer.body) == REFUSED


@pytest.mark.parametrize("owner", [PROVIDER, CORP])
def test_instructions_for_any_receive_id_but_the_suite_id_are_refused(client, admin_headers, suite, owner):
    answer = _instruction(client, _info("suite_ticket", SuiteTicket="ticket-1"), owner=owner)
    assert answer.status_code == 400 and json.loads(answer.body) == REFUSED
    assert not json.loads(client.http.get("/providers/wecom-suite", headers=admin_headers).body)["ticket_received"]


def _click_in(corp: str) -> str:
    return (f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
            f"<CreateTime>{int(clock.now())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[ack/0/inc-1]]></EventKey>"
            "<TaskId><![CDATA[t1]]></TaskId><ResponseCode><![CDATA[rc]]></ResponseCode></xml>")


@pytest.mark.parametrize("owner", [SUITE["suite_id"], PROVIDER, "wwcorpB0002"])
def test_data_callbacks_for_any_receive_id_but_the_organisations_are_refused(client, admin_headers, suite, owner):
    _instruction(client, _info("create_auth", AuthCode="auth-code-1"))
    client.http.post("/incidents", headers=admin_headers, body=json.dumps(
        {"version": 1, "incident": {"id": "inc-1", "title": "db", "severity": "critical"}}))
    client.http.post("/members", headers=admin_headers, body=json.dumps({"id": "alice", "name": "Alice"}))
    people.bind("alice", wecom_suite.integration_id(CORP), "zhangsan", "Alice", clock.iso())
    answer = _instruction(client, _click_in(CORP), owner=owner, to=CORP)
    assert answer.status_code == 400 and json.loads(answer.body) == REFUSED
    assert json.loads(client.http.get("/incidents/inc-1", headers=admin_headers).body)["status"] == "triggered"


@pytest.mark.parametrize("missing", ["SuiteTicket", "AuthCode", "AuthCorpId"])
def test_an_instruction_without_its_subject_is_refused(client, suite, missing):
    kind = {"SuiteTicket": "suite_ticket", "AuthCode": "create_auth", "AuthCorpId": "cancel_auth"}[missing]
    answer = _instruction(client, _info(kind))
    assert answer.status_code == 400 and json.loads(answer.body) == REFUSED
    assert suite == []  # create_auth bought nothing


def test_without_a_suite_every_callback_is_refused_alike(client):
    answers = [_url_check(client, PROVIDER), _instruction(client, _info("suite_ticket", SuiteTicket="t"))]
    assert [(a.status_code, json.loads(a.body)) for a in answers] == [(400, REFUSED)] * 2


def test_nothing_is_decrypted_before_the_signature_holds(client, suite, openings):
    """URL check, instruction and data callback, each with a bad signature: refused alike, nothing opened."""
    _instruction(client, _info("create_auth", AuthCode="auth-code-1"))  # the organisation's integration exists
    openings.clear()
    forged = MsgCrypt("not-the-token", SUITE["encoding_aes_key"], PROVIDER)
    echostr, stamp = forged.encrypt("5927348123456789012"), str(int(clock.now()))
    answers = [client.http.get(f"{URL}?msg_signature={forged.sign(stamp, 'n3', echostr)}&timestamp={stamp}"
                               f"&nonce=n3&echostr={quote(echostr, safe='')}")]
    for owner, inner in ((SUITE["suite_id"], _info("suite_ticket", SuiteTicket="t")), (CORP, _click_in(CORP))):
        crypt = MsgCrypt("not-the-token", SUITE["encoding_aes_key"], owner)
        encrypt = crypt.encrypt(inner)
        answers.append(client.http.post(f"{URL}?msg_signature={crypt.sign(stamp, 'n3', encrypt)}&timestamp={stamp}"
                                        f"&nonce=n3", headers={"Content-Type": "text/xml"},
                                        body=f"<xml><ToUserName>{owner}</ToUserName><Encrypt>{encrypt}</Encrypt></xml>"))
    assert [(a.status_code, json.loads(a.body)) for a in answers] == [(400, REFUSED)] * 3
    assert openings == []


@pytest.mark.parametrize("name", ["slack-suite", "wecom-other", "wecom", "nothing"])
def test_a_provider_no_platform_declares_is_404_and_its_callbacks_are_refused(client, admin_headers, name):
    for method, body in (("get", None), ("put", json.dumps(SUITE))):
        response = getattr(client.http, method)(f"/providers/{name}", headers=admin_headers, body=body)
        assert (response.status_code, json.loads(response.body)["error"]) == (404, "not_found")
    refused = client.http.post(f"/callbacks/{name}", body="<xml/>", headers={"Content-Type": "text/xml"})
    assert refused.status_code == 400
    assert json.loads(refused.body) == {"error": "callback_rejected", "message": "refused"}


def test_an_unconfigured_suite_is_404_as_before(client, admin_headers):
    response = client.http.get("/providers/wecom-suite", headers=admin_headers)
    assert response.status_code == 404 and "PUT /providers/wecom-suite" in json.loads(response.body)["message"]


def test_an_organisations_delete_user_on_the_instruction_url_revokes_the_binding_once(client, admin_headers, suite):
    """Third-party apps get 通讯录变更 on the 指令回调 URL: InfoType change_contact with AuthCorpId, ChangeType
    delete_user and UserID (the 第三方应用 通讯录回调通知 samples)."""
    _instruction(client, _info("create_auth", AuthCode="auth-code-1"))
    client.http.post("/members", headers=admin_headers, body=json.dumps({"id": "alice", "name": "Alice"}))
    integration_id = wecom_suite.integration_id(CORP)
    people.bind("alice", integration_id, "zhangsan", "Alice", clock.iso())
    deleted = _info("change_contact", AuthCorpId=CORP, ChangeType="delete_user", UserID="zhangsan")
    answer = _instruction(client, deleted)
    assert answer.status_code == 200 and answer.body == b"success"
    assert people.binding("alice", integration_id) is None
    people.bind("alice", integration_id, "zhangsan", "Alice", clock.iso())
    assert _instruction(client, deleted).status_code == 200  # the same push again: answered, not re-applied
    assert people.binding("alice", integration_id) is not None


def test_other_contact_changes_on_the_instruction_url_are_acknowledged(client, suite):
    changed = _info("change_contact", AuthCorpId=CORP, ChangeType="create_user", UserID="zhangsan")
    assert _instruction(client, changed).status_code == 200
