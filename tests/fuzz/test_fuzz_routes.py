"""Seeded, bounded fuzzing of every route: no answer is a 5xx, and none carries a secret.

Every callback route gets unsigned garbage (deep nesting, huge numbers, odd headers and query
strings, broken base64, padding and XML, huge ids) and, per platform, payloads that are signed and
encrypted exactly as the platform would, around malformed plaintexts (every field of a documented
payload given a wrong type, dropped, or the whole plaintext broken). The web app and the admin API get
wrong types in every field of their bodies, huge ids and odd queries. DynamoDB's key limits are
enforced (moto does not) and nothing may reach the network.

The seed is fixed (``FUZZ_SEED`` overrides it, ``FUZZ_CASES`` the cases per group), so a failure names a
case that can be replayed.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import quote

import pytest
import requests

from chalicelib.common import clock
from chalicelib.core import incidents
from chalicelib.core.models import IncidentFields
from chalicelib.platforms import http
from chalicelib.platforms.feishu import crypto as lark_crypto
from chalicelib.platforms.msgcrypt import MsgCrypt
from chalicelib.store import deliveries, ephemeral, people
from tests.factories import stored_integration
from tests.fuzz import dynamo_limits

SEED = int(os.environ.get("FUZZ_SEED", "20261122"))
CASES = int(os.environ.get("FUZZ_CASES", "40"))  # random cases per group, besides one per field of each payload
ADMIN = {"Authorization": "Bearer test-admin-token", "Content-Type": "application/json"}
JSON, XML = {"Content-Type": "application/json"}, {"Content-Type": "text/xml"}

DING = {"corp_id": "dingcorpfuzz01", "agent_id": "1001", "client_id": "dingappkeyfuzz01",
        "client_secret": "ding-client-secret-7f3a9c", "aes_key": "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7",
        "token": "ding-token-51c2", "card_api_secret": "ding-card-api-secret-88e1"}
FEISHU = {"app_id": "cli_fuzz", "app_secret": "feishu-app-secret-2b9d", "verification_token": "feishu-vt-6c0e",
          "encrypt_key": "feishu-encrypt-key-41aa"}
FEISHU_PLAIN = {"app_id": "cli_fuzz2", "app_secret": "feishu-app-secret-plain-93f1",
                "verification_token": "feishu-vt-plain-0d7b"}
WECOM = {"corp_id": "wwfuzzcorp0001", "agent_id": "1000002", "secret": "wecom-secret-ab12cd",
         "token": "wecomTokenFuzz77", "encoding_aes_key": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"}
SUITE = {"suite_id": "wwsuitefuzz01", "provider_corp_id": "wwproviderfuzz", "suite_secret": "suite-secret-5e6f7a",
         "token": "SuiteTokenFuzz", "encoding_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "api_base": "http://127.0.0.1:9"}
SECRETS = {"test-admin-token", DING["client_secret"], DING["aes_key"], DING["token"], DING["card_api_secret"],
           FEISHU["app_secret"], FEISHU["verification_token"], FEISHU["encrypt_key"], FEISHU_PLAIN["app_secret"],
           FEISHU_PLAIN["verification_token"], WECOM["secret"], WECOM["token"], WECOM["encoding_aes_key"],
           SUITE["suite_secret"], SUITE["token"], SUITE["encoding_aes_key"]}
CARD_KEY = "inc-1.0123456789ab"
SESSION = "fuzz-session-of-alice-on-int_fs"

# Values given to a field in place of what the platform documents there.
WRONG: list[Any] = [None, True, 0, -1, 10 ** 30, 1.5e308, "", "²", "x" * 3000, "\u0000\u202e🙂", [], {}, [1, "a"],
                    {"a": {"b": [None]}}, "9" * 400, "../../etc/passwd", "<at id=all></at>"]
GARBAGE: list[bytes] = [
    b"[" * 60_000, b'{"a":' * 12_000, b"", b"\xff\xfe\x00garbage", b"null", b"[]", b'"text"', b"1" * 5000,
    b'{"a": 1e999999}', b'{"a": [1, 2', b'{"encrypt": 5}', b'{"encrypt": "%%%not base64%%%"}',
    b'{"encrypt": "YWJj"}', b'{"encrypt": "' + base64.b64encode(bytes(range(48))) + b'"}',
    b'{"encrypt": "' + base64.b64encode(bytes(range(47))) + b'"}', b'{"encrypt": "QUJD\\u0000=="}',
    b"<xml><Encrypt>", b"<xml>" * 5000, b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><xml>&a;</xml>",
    b"<xml><ToUserName>x</ToUserName><Encrypt><![CDATA[" + b"A" * 64 + b"]]></Encrypt></xml>",
    b"<xml><ToUserName>" + b"w" * 3000 + b"</ToUserName><Encrypt>QUJD</Encrypt></xml>",
    "<xml><Encrypt>￿</Encrypt></xml>".encode(), b'{"type": "url_verification", "challenge": "c", "token": 1}',
    b'{"type": "actionCallback", "content": {"cardPrivateData": 1}}', b'{"schema": "2.0", "header": "x"}',
]
ODD_QUERIES = ["", "timestamp=%C2%B2&nonce=n&msg_signature=s&signature=s", f"timestamp={'9' * 400}&nonce=n&signature=s",
               "timestamp=-1&nonce=n", "timestamp=1e10&nonce=n", "echostr=%25%25%25&timestamp=1&nonce=n",
               f"echostr={'A' * 64}&timestamp={'9' * 30}&nonce=n&msg_signature=x",
               "msg_signature=%C3%A9&timestamp=&nonce=",
               "timestamp=1&timestamp=2&nonce=a&nonce=b", f"nonce={'n' * 3000}", "next=%2F%2Fevil.example&pending=x",
               f"pending={'p' * 3000}", "code=%00&state=%FF&error=x", "a=%E0%A4%A"]
ODD_HEADERS = [{"X-Lark-Signature": "é" * 64, "X-Lark-Request-Timestamp": "1", "X-Lark-Request-Nonce": "n"},
               {"X-Lark-Request-Timestamp": "²", "X-Lark-Signature": "0" * 64},
               {"X-Lark-Request-Timestamp": "9" * 400, "X-Lark-Signature": "0" * 64},
               {"x-ddpaas-signature-timestamp": "9" * 400, "x-ddpaas-signature": "x"},
               {"x-ddpaas-signature-timestamp": "²", "x-ddpaas-signature": "ñ"},
               {"x-ddpaas-signature-timestamp": "１２３", "x-ddpaas-signature": ""},
               {"Cookie": "db_session=" + "s" * 3000}, {"Cookie": "=;;=x; a"},
               {"Accept-Language": "zz;q=abc, *;q=-1, " + "en" * 500}, {"Authorization": "Bearer " + "é" * 10}]
IDS = ["int_unknown", "x" * 3000, "测试", "int_ding..", "-", "a" * 129]


@dataclass
class Case:
    group: str
    method: str
    path: str
    body: bytes = b""
    headers: dict = field(default_factory=dict)

    def describe(self) -> str:
        return (f"{self.group}: {self.method} {self.path[:160]} headers={str(self.headers)[:160]} "
                f"body={self.body[:200]!r}")


# -- mutation ---------------------------------------------------------------------------------------------

def _paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every node of a JSON value, as a path of keys and indices."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield prefix + (key,)
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield prefix + (index,)
            yield from _paths(child, prefix + (index,))


def _set(value: Any, path: tuple, new: Any, drop: bool = False) -> Any:
    value = copy.deepcopy(value)
    node = value
    for step in path[:-1]:
        node = node[step]
    if drop:
        del node[path[-1]]
    else:
        node[path[-1]] = new
    return value


DROPPED = object()
Changes = list[tuple[tuple, Any]]  # (path, the value put there, or DROPPED)


def mutations(template: dict, rng: random.Random, extra: int) -> Iterator[tuple[dict, Changes]]:
    """Each field of ``template`` given a wrong value, and dropped; then ``extra`` payloads with one to
    three fields wrong at once. Yields (payload, what was changed)."""
    for path in _paths(template):
        wrong = rng.choice(WRONG)
        yield _set(template, path, wrong), [(path, wrong)]
        yield _set(template, path, None, drop=True), [(path, DROPPED)]
    for _ in range(extra):
        payload, changes = template, []
        for _ in range(rng.randint(1, 3)):
            path, wrong = rng.choice(list(_paths(payload)) or [()]), rng.choice(WRONG)
            if not path:
                break
            payload = _set(payload, path, wrong)
            changes.append((path, wrong))
        yield payload, changes


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# -- the world the requests land in -------------------------------------------------------------------------

@pytest.fixture
def world(client, monkeypatch):
    """Four integrations, the WeCom suite, a member bound everywhere, an incident delivered to each platform."""
    def offline(*args, **kwargs):
        raise requests.ConnectionError("the fuzz test never reaches the network")

    monkeypatch.setattr(http._session, "request", offline)
    for platform, integration_id, credentials in (("dingtalk", "int_ding", DING), ("feishu", "int_fs", FEISHU),
                                                 ("feishu", "int_fsp", FEISHU_PLAIN), ("wecom", "int_wc", WECOM)):
        stored_integration(platform, integration_id, **credentials)
    assert client.http.put("/providers/wecom-suite", headers=ADMIN, body=json.dumps(SUITE)).status_code == 200
    people.create_member({"id": "alice", "name": "Alice", "mobile": "13800000001", "created_at": clock.iso()})
    for integration_id, user in (("int_ding", "zhangwei"), ("int_fs", "ou_alice"), ("int_fsp", "ou_alice"),
                                 ("int_wc", "alice")):
        people.bind("alice", integration_id, user, "Alice", clock.iso())
    incidents.ingest(IncidentFields(id="inc-1", title="db down", severity="critical"))
    for integration_id, kind, target, ref in (
            ("int_ding", "user", "zhangwei", {"out_track_id": CARD_KEY}),
            ("int_fs", "chat", "oc_sre", {"message_id": "om_1"}),
            ("int_wc", "user", "alice", {"task_id": "task-1", "user": "alice", "response_code": "rc-1",
                                         "code_at": int(clock.now())})):
        deliveries.ensure({"incident_id": "inc-1", "target_key": f"{integration_id}#{kind}#{target}",
                           "integration_id": integration_id, "kind": kind, "target": target, "state": "sent",
                           "ref": ref, "created_at": clock.iso()})
    ephemeral.put(f"session#{SESSION}", 3600, integration_id="int_fs", user_id="ou_alice", name="Alice")
    dynamo_limits.enforce(monkeypatch)
    return client


def _run(client, cases: list[Case]) -> list[str]:
    """Send every case; returns what went wrong (a 5xx, a secret in the answer)."""
    problems = []
    for case in cases:
        response = client.http.request(case.method, case.path, headers=case.headers, body=case.body)
        text = (response.body or b"").decode("utf-8", "replace") + json.dumps(dict(response.headers))
        if response.status_code >= 500:
            problems.append(f"{response.status_code} for {case.describe()}")
        leaked = [s for s in SECRETS if s in text]
        if leaked:
            problems.append(f"secret {leaked[0][:6]}… in the answer to {case.describe()}")
    return problems


# -- unsigned garbage on every callback route -------------------------------------------------------------

CALLBACK_PATHS = [("POST", "/callbacks/{id}/events"), ("GET", "/callbacks/{id}/events"),
                  ("POST", "/callbacks/{id}/card"), ("POST", "/callbacks/wecom-suite"),
                  ("GET", "/callbacks/wecom-suite")]
TARGETS = ["int_ding", "int_fs", "int_fsp", "int_wc", *IDS]


def _unsigned(method: str, template: str, target: str, query: str, body: bytes, headers: dict) -> Case:
    path = f"{template.format(id=target)}?{query}"
    return Case("unsigned", method, path, body, headers)


def unsigned_cases(rng: random.Random) -> list[Case]:
    cases = []
    for method, template in CALLBACK_PATHS:
        for body in GARBAGE:
            content = rng.choice([JSON, XML, {"Content-Type": "text/plain"}])
            cases.append(_unsigned(method, template, rng.choice(TARGETS), rng.choice(ODD_QUERIES), body,
                                   {**content, **rng.choice([{}, *ODD_HEADERS])}))
    for _ in range(CASES):
        method, template = rng.choice(CALLBACK_PATHS)
        cases.append(_unsigned(method, template, rng.choice(TARGETS), rng.choice(ODD_QUERIES), rng.choice(GARBAGE),
                               {**rng.choice([JSON, XML]), **rng.choice(ODD_HEADERS)}))
    for headers in ODD_HEADERS:  # every odd header on a well-formed-looking body of each platform
        for target in ("int_ding", "int_fs", "int_fsp"):
            cases.append(_unsigned("POST", "/callbacks/{id}/card", target, "", b'{"encrypt": "QUJD"}',
                                   {**JSON, **headers}))
    echostr = quote(MsgCrypt(WECOM["token"], WECOM["encoding_aes_key"], WECOM["corp_id"]).encrypt("1"))
    for stamp in ("%C2%B2", "9" * 400, "%EF%BC%91"):  # the URL checks' timestamps, unsigned
        for path in ("/callbacks/{id}/events", "/callbacks/wecom-suite"):
            query = f"msg_signature=x&timestamp={stamp}&nonce=n&echostr={echostr}"
            cases.append(_unsigned("GET", path, "int_wc", query, b"", {}))
        cases.append(_unsigned("POST", "/callbacks/{id}/events", "int_ding", f"signature=x&timestamp={stamp}&nonce=n",
                               b'{"encrypt": "QUJD"}', JSON))
    return cases


# -- DingTalk: signed event envelopes and card callbacks around malformed content ---------------------------

DING_EVENT = {"EventType": "im_cool_app_install", "eventId": "ev-1", "openConversationId": "cid-sre",
              "robotCode": DING["client_id"], "coolAppCode": "COOLAPP", "title": "SRE", "chatId": "chat-1",
              "TimeStamp": "1700000000000", "CorpId": DING["corp_id"]}
DING_CLICK = {"type": "actionCallback", "outTrackId": CARD_KEY, "corpId": DING["corp_id"], "userId": "zhangwei",
              "content": {"cardPrivateData": {"actionIds": ["silence"], "params": {"minutes": "120"}}}}


def _ding_event(plaintext: str, stamp: str | None = None) -> Case:
    crypt = MsgCrypt(DING["token"], DING["aes_key"], DING["client_id"])
    stamp, encrypt = stamp or str(int(clock.now() * 1000)), crypt.encrypt(plaintext)
    query = f"signature={crypt.sign(stamp, 'n1', encrypt)}&timestamp={quote(stamp)}&nonce=n1"
    return Case("dingtalk", "POST", f"/callbacks/int_ding/events?{query}", _dumps({"encrypt": encrypt}).encode(), JSON)


def _ding_click(body: dict | str, changes: Changes = (), stamp: str | None = None) -> Case:
    if isinstance(body, dict) and isinstance(body.get("content"), dict):
        body = {**body, "content": _dumps(body["content"])}
    raw = (body if isinstance(body, str) else _dumps(body)).encode()
    stamp = stamp or str(int(clock.now() * 1000))
    mac = hmac.new(DING["card_api_secret"].encode(), stamp.encode(), hashlib.sha256).digest()
    return Case("dingtalk", "POST", "/callbacks/int_ding/card", raw,
                {**JSON, "x-ddpaas-signature-timestamp": stamp, "x-ddpaas-signature": base64.b64encode(mac).decode()})


def dingtalk_cases(rng: random.Random) -> list[Case]:
    cases = [_ding_event(_dumps(payload)) for payload, _ in mutations(DING_EVENT, rng, CASES)]
    cases += [_ding_event(text) for text in ("", "[" * 60_000, "not json", "[1, 2]", '"x"', "1" * 5000, "\u0000")]
    cases += [_ding_event(_dumps(DING_EVENT), stamp) for stamp in ("²", "9" * 400, "１２３")]
    cases += [_ding_click(payload, changes) for payload, changes in mutations(DING_CLICK, rng, CASES)]
    cases += [_ding_click(raw) for raw in ("[" * 60_000, "[]", "", '{"type": "actionCallback", "content": "[[["}')]
    cases += [_ding_click(DING_CLICK, (), stamp) for stamp in ("²", "9" * 400)]
    return cases


# -- Feishu: signed (and encrypted) events and card callbacks, legacy and plain -----------------------------

def _feishu_event(event_type: str, event: dict, token: str = FEISHU["verification_token"]) -> dict:
    return {"schema": "2.0", "header": {"event_id": "ev-1", "token": token, "create_time": "1700000000000",
                                        "event_type": event_type, "tenant_key": "tk", "app_id": FEISHU["app_id"]},
            "event": event}


FEISHU_CLICK = _feishu_event("card.action.trigger", {
    "operator": {"open_id": "ou_alice", "user_id": "alice", "tenant_key": "tk"}, "token": "c-update-token",
    "action": {"value": {"action": "ack", "incident_id": "inc-1", "minutes": "120"}, "tag": "button",
               "option": "silence:120"},
    "host": "im_message", "context": {"open_message_id": "om_1", "open_chat_id": "oc_sre"}})
FEISHU_EVENT = _feishu_event("im.chat.updated_v1", {"chat_id": "oc_sre", "name": "SRE",
                                                    "after_change": {"name": "SRE 值班"}})
FEISHU_LEGACY = {"open_id": "ou_alice", "user_id": "alice", "open_message_id": "om_1", "open_chat_id": "oc_sre",
                 "tenant_key": "tk", "token": "c-update-token",
                 "action": {"value": {"action": "resolve", "incident_id": "inc-1"}, "tag": "button"}}
FEISHU_CHALLENGE = {"challenge": "ch-1", "token": FEISHU["verification_token"], "type": "url_verification"}


def _feishu(path: str, plaintext: str, template: dict | None = None, changes: Changes = (), legacy: bool = False,
            stamp: str | None = None, signature: str | None = None) -> Case:
    key, token = FEISHU["encrypt_key"], FEISHU["verification_token"]
    raw = (plaintext if legacy else _dumps({"encrypt": lark_crypto.encrypt(key, plaintext)})).encode()
    stamp, nonce = stamp or str(int(clock.now())), "n0nce"
    signature = signature or (lark_crypto.legacy_card_signature(stamp, nonce, token, raw) if legacy
                              else lark_crypto.signature(stamp, nonce, key, raw))
    return Case("feishu", "POST", path, raw, {**JSON, "X-Lark-Request-Timestamp": stamp, "X-Lark-Request-Nonce": nonce,
                                              "X-Lark-Signature": signature})


def feishu_cases(rng: random.Random) -> list[Case]:
    cases = []
    for template, path in ((FEISHU_CLICK, "/callbacks/int_fs/card"), (FEISHU_EVENT, "/callbacks/int_fs/events"),
                           (FEISHU_CHALLENGE, "/callbacks/int_fs/events")):
        cases += [_feishu(path, _dumps(payload), template, changes)
                  for payload, changes in mutations(template, rng, CASES // 2)]
    cases += [_feishu("/callbacks/int_fs/card", _dumps(payload), FEISHU_LEGACY, changes, legacy=True)
              for payload, changes in mutations(FEISHU_LEGACY, rng, CASES // 2)]
    plain = _set(FEISHU_CLICK, ("header", "token"), FEISHU_PLAIN["verification_token"])
    for payload, _changes in mutations(plain, rng, CASES // 2):  # no Encrypt Key: unsigned, token-checked
        cases.append(Case("feishu", "POST", "/callbacks/int_fsp/card", _dumps(payload).encode(), JSON))
    cases += [_feishu("/callbacks/int_fs/card", text) for text in ("", "[" * 60_000, "not json", "[1]", "\u0000" * 10)]
    cases += [_feishu("/callbacks/int_fs/card", _dumps(FEISHU_CLICK), FEISHU_CLICK, (), stamp=stamp)
              for stamp in ("²", "１２３", "9" * 400)]
    cases += [_feishu("/callbacks/int_fs/card", _dumps(FEISHU_CLICK), FEISHU_CLICK, (), signature=signature)
              for signature in ("é" * 64, "0" * 64, "")]
    for path, minutes in ((("event", "action", "value", "minutes"), "²"), (("event", "action", "option"), "silence:²"),
                          (("event", "action", "option"), "silence:" + "9" * 5000)):
        payload = _set(FEISHU_CLICK, path, minutes)
        cases.append(_feishu("/callbacks/int_fs/card", _dumps(payload), FEISHU_CLICK, [(path, minutes)]))
    return cases


# -- WeCom: signed XML envelopes around malformed messages, the URL check, the suite -------------------------

WECOM_CLICK = {"ToUserName": WECOM["corp_id"], "FromUserName": "alice", "CreateTime": "1700000000",
               "MsgType": "event", "Event": "template_card_event", "EventKey": "ack/0/inc-1", "TaskId": "task-1",
               "CardType": "button_interaction", "ResponseCode": "rc-2", "AgentID": "1000002"}
SUITE_INFO = {"SuiteId": SUITE["suite_id"], "InfoType": "suite_ticket", "SuiteTicket": "ticket-1", "TimeStamp": "1",
              "AuthCode": "auth-1", "AuthCorpId": "wwcorpX"}


def _xml(fields: dict) -> str:
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>"


def _wecom(path: str, plaintext: str, crypt: MsgCrypt, to: str, stamp: str | None = None,
           event_key: str = "") -> Case:
    encrypt, stamp = crypt.encrypt(plaintext), stamp or str(int(clock.now()))
    query = f"msg_signature={crypt.sign(stamp, 'n1', encrypt)}&timestamp={quote(stamp)}&nonce=n1"
    body = f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    return Case("wecom", "POST", f"{path}?{query}", body.encode(), XML)


def _wecom_click(fields: dict, crypt: MsgCrypt, stamp: str | None = None) -> Case:
    return _wecom("/callbacks/int_wc/events", _xml(fields), crypt, WECOM["corp_id"], stamp,
                  str(fields.get("EventKey", "")))


def wecom_cases(rng: random.Random) -> list[Case]:
    crypt = MsgCrypt(WECOM["token"], WECOM["encoding_aes_key"], WECOM["corp_id"])
    cases = []
    for name in WECOM_CLICK:
        for wrong in (rng.choice(WRONG), "ack/²/inc-1", "silence/" + "9" * 5000 + "/inc-1", "ack/1/" + "i" * 3000):
            cases.append(_wecom_click({**WECOM_CLICK, name: wrong}, crypt))
        cases.append(_wecom_click({k: v for k, v in WECOM_CLICK.items() if k != name}, crypt))
    for _ in range(CASES):
        cases.append(_wecom_click({k: (rng.choice(WRONG) if rng.random() < 0.3 else v)
                                   for k, v in WECOM_CLICK.items()}, crypt))
    for plaintext in ("", "<xml>", "not xml", "<xml>" * 3000 + "</xml>" * 3000, _xml(WECOM_CLICK)[:40],
                      "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><xml>&a;</xml>",
                      "<xml><ToUserName><a>nested</a></ToUserName></xml>"):
        cases.append(_wecom("/callbacks/int_wc/events", plaintext, crypt, WECOM["corp_id"]))
    cases += [_wecom_click(WECOM_CLICK, crypt, stamp) for stamp in ("²", "9" * 400)]
    for echostr in ("", "x", crypt.encrypt("1288432023552776189")[:-4]):  # the GET URL check, signed
        stamp = str(int(clock.now()))
        query = f"msg_signature={crypt.sign(stamp, 'n1', echostr)}&timestamp={stamp}&nonce=n1&echostr={quote(echostr)}"
        cases.append(Case("wecom", "GET", f"/callbacks/int_wc/events?{query}"))
    suite = MsgCrypt(SUITE["token"], SUITE["encoding_aes_key"], SUITE["suite_id"])
    for name in SUITE_INFO:
        for wrong in (rng.choice(WRONG), "create_auth", "cancel_auth", "x" * 3000):
            cases.append(_wecom("/callbacks/wecom-suite", _xml({**SUITE_INFO, name: wrong}), suite, SUITE["suite_id"]))
    return cases


# -- the web app and the admin API ------------------------------------------------------------------------------

WEB_PAGES = ["/app/{id}", "/oauth/{id}/callback", "/app/{id}/incidents", "/app/{id}/incidents/{incident}"]
WEB_POSTS = {"/app/{id}/login": {"code": "c", "next": "/app/int_fs/incidents"},
             "/app/{id}/link": {"mobile": "13800000001"},
             "/app/{id}/incidents/{incident}/actions": {"action": "silence", "minutes": 60},
             "/app/{id}/incidents/{incident}/war-room": {}}


def _web(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> Case:
    return Case("web", method, path, body, headers or {})


def web_cases(rng: random.Random) -> list[Case]:
    cases = []
    ids, incidents_ = ["int_ding", "int_fs", "int_wc", *IDS], ["inc-1", "nope", "i" * 3000, "%00", "测试"]
    signed_in = {"Cookie": f"db_session={SESSION}"}
    for template in WEB_PAGES:
        for _ in range(CASES // 4):
            path = template.format(id=rng.choice(ids), incident=rng.choice(incidents_))
            cases.append(_web("GET", f"{path}?{rng.choice(ODD_QUERIES)}", b"", rng.choice([signed_in, *ODD_HEADERS])))
    for template, body in WEB_POSTS.items():
        path = template.format(id="int_fs", incident="inc-1")
        for payload, _ in mutations(body, rng, CASES // 4):
            headers = rng.choice([signed_in, signed_in, {}, *ODD_HEADERS])
            cases.append(_web("POST", path, _dumps(payload).encode(), {**JSON, **headers}))
        for raw in rng.sample(GARBAGE, 6):
            path = template.format(id=rng.choice(ids), incident=rng.choice(incidents_))
            cases.append(_web("POST", path, raw, {**JSON, **rng.choice([signed_in, *ODD_HEADERS])}))
    cases += [_web("GET", f"/{quote(name)}") for name in ("WW_verify_abc.txt", "x" * 3000, "%00", "测试.txt")]
    return cases


ADMIN_BODIES = {
    ("POST", "/integrations"): {"platform": "feishu", "name": "飞书", "credentials": FEISHU_PLAIN,
                                "settings": {"api_base": "http://127.0.0.1:9", "quota_admins": ["alice"],
                                             "low_at": 0.5}},
    ("PATCH", "/integrations/{id}"): {"name": "x", "credentials": {"app_secret": "s"}, "settings": {"edition": "free"}},
    ("POST", "/members"): {"id": "bob", "name": "Bob", "email": "bob@example.com", "mobile": "13800000002"},
    ("POST", "/incidents"): {"version": 1, "incident": {"id": "inc-2", "title": "t", "severity": "info",
                                                        "status": "triggered", "labels": {"a": "b"},
                                                        "started_at": "2026-11-22T10:00:00Z", "url": "https://x"},
                             "targets": {"members": ["alice"],
                                         "chats": [{"integration_id": "int_fs", "chat_id": "oc"}]}},
    ("POST", "/incidents/{incident}/actions"): {"action": "silence", "minutes": 30, "by": "alice"},
    ("POST", "/incidents/{incident}/war-room"): {"integration_id": "int_fs", "by": "alice"},
    ("PUT", "/providers/wecom-suite"): SUITE,
    ("POST", "/integrations/{id}/link-members"): {},
}
ADMIN_GETS = ["/integrations", "/integrations/{id}", "/integrations/{id}/chats", "/integrations/{id}/quota",
              "/members/{member}", "/incidents/{incident}", "/providers/wecom-suite", "/healthz"]


def admin_cases(rng: random.Random) -> list[Case]:
    cases = []
    ids = ["int_fs", "int_ding", "int_wc", *IDS]
    fill = {"id": "int_fs", "incident": "inc-1", "member": "alice"}
    for (method, template), body in ADMIN_BODIES.items():
        path = template.format(**fill)
        for payload, _ in mutations(body, rng, CASES // 4):
            cases.append(Case("admin", method, path, _dumps(payload).encode(), ADMIN))
        for raw in rng.sample(GARBAGE, 6):
            cases.append(Case("admin", method, template.format(id=rng.choice(ids), incident=rng.choice(IDS),
                                                             member="alice"), raw, ADMIN))
    for template in ADMIN_GETS + ["/integrations/{id}"]:
        for odd in IDS:
            method = "DELETE" if template == "/integrations/{id}" and odd == IDS[-1] else "GET"
            cases.append(Case("admin", method, template.format(id=odd, incident=odd, member=odd), b"", ADMIN))
    return cases


GROUPS: dict[str, Callable[[random.Random], list[Case]]] = {
    "unsigned callbacks": unsigned_cases, "dingtalk signed": dingtalk_cases, "feishu signed": feishu_cases,
    "wecom signed": wecom_cases, "web app": web_cases, "admin api": admin_cases}


def _cases(group: str) -> list[Case]:
    return GROUPS[group](random.Random(f"{SEED}:{group}"))


@pytest.mark.parametrize("group", list(GROUPS))
def test_no_route_answers_5xx_or_a_secret(world, group):
    started = time.monotonic()
    cases = _cases(group)
    problems = _run(world, cases)
    assert not problems, f"{len(problems)} of {len(cases)} cases (seed {SEED}):\n" + "\n".join(problems[:20])
    assert time.monotonic() - started < 60, "the group took too long for the suite: lower FUZZ_CASES"
