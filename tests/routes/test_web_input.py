"""Whatever a browser (or anyone) sends the web app, the answer is a clear 4xx page or JSON, never a 500.

Real DynamoDB refuses a key attribute over 2,048 bytes on every call (moto checks it on PutItem only),
so ``key_limit`` makes the fake store refuse them the same way: an id too long for a key must be
refused before it reaches the store.
"""
from __future__ import annotations

import json
import random
from urllib.parse import quote

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.factories import member, notification
from tests.routes.conftest import JSON, OWN_ORIGIN, sign_in, to_group

KEY_LIMIT = 2048
LONG = "a" * 3000


def _size(value) -> int:
    if isinstance(value, dict):  # a typed attribute value, {"S": "..."}
        value = value.get("S", "")
    return len(value.encode()) if isinstance(value, str) else 0


@pytest.fixture
def key_limit(monkeypatch):
    """DynamoDB's documented key size limit on GetItem, DeleteItem, UpdateItem and Query, as the real service."""
    original = BaseClient._make_api_call

    def checked(self, operation: str, params: dict):
        if self.meta.service_model.service_name == "dynamodb":
            values = list((params.get("Key") or {}).values())
            if operation == "Query":
                values += list((params.get("ExpressionAttributeValues") or {}).values())
            if any(_size(value) > KEY_LIMIT for value in values):
                raise ClientError({"Error": {"Code": "ValidationException", "Message": (
                    "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size "
                    "limit of2048 bytes")}}, operation)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", checked)


@pytest.fixture
def world(web, admin_headers, key_limit):
    body = notification("inc-1", members=(), chats=to_group("int_js"))
    assert web.http.post("/incidents", headers=admin_headers, body=json.dumps(body)).status_code == 202
    member()
    return sign_in(web)


def _ok(response) -> None:
    assert 200 <= response.status_code < 500, (response.status_code, response.body[:300])
    if response.status_code != 302:
        assert response.headers["Content-Type"].split(";")[0] in ("text/html", "application/json")
    assert b"Traceback" not in response.body


@pytest.mark.parametrize("path", [
    f"/app/{LONG}", f"/app/{LONG}/incidents", f"/app/int_js/incidents/{LONG}", f"/oauth/{LONG}/callback?code=c",
    f"/app/int_js?pending={LONG}", f"/app/int_js?next=/app/int_js/{LONG}",
    f"/oauth/int_oa/callback?code=c&state={LONG}"])
def test_absurdly_long_ids_in_pages_are_400_pages(web, world, path):
    response = web.http.get(path, headers=world)
    _ok(response)
    assert response.status_code == 400


@pytest.mark.parametrize("path", [f"/app/{LONG}/login", f"/app/{LONG}/link", f"/app/int_js/incidents/{LONG}/actions",
                                  f"/app/{LONG}/incidents/inc-1/war-room", f"/app/int_js/incidents/{LONG}/war-room"])
def test_absurdly_long_ids_in_posts_are_400_json(web, world, path):
    response = web.http.post(path, body=json.dumps({"code": "c", "action": "ack", "mobile": "13800000001"}),
                             headers={**JSON, **world})
    _ok(response)
    assert response.status_code == 400 and json.loads(response.body)["error"] == "invalid_input"


@pytest.mark.parametrize("cookie", [
    f"db_session={LONG}", "db_session=é", "db_session", "db_session=", "db_session=a=b=c", ";;;==;", "=x",
    "db_session=" + "A" * 32, "db_session=../../etc", "db_session=x" + "; db_session=y" * 500,
    f"db_login_{'0' * 12}={LONG}"])
def test_bad_or_forged_session_cookies_are_simply_not_signed_in(web, world, cookie):
    page = web.http.get("/app/int_js/incidents/inc-1", headers={"Cookie": cookie})
    _ok(page)
    assert page.status_code == 302  # to sign in, like anyone without a session
    action = web.http.post("/app/int_js/incidents/inc-1/actions", body='{"action": "ack"}',
                           headers={**JSON, "Cookie": cookie})
    _ok(action)
    assert action.status_code == 401


@pytest.mark.parametrize("body, status", [
    (b"", 400), (b"{", 400), (b"[]", 400), (b"null", 400), (b'"ack"', 400), (b'{"action": "nap"}', 400),
    (b'{"action": "silence", "minutes": 1e400}', 400), (b'{"action": "silence", "minutes": -1}', 400),
    (b'{"action": "silence", "minutes": 99999999999999999999999}', 400), (b"\xff\xfe{}", 400),
    (b'{"action": "\xff"}', 400), ("{\"action\": \"ack\"}".encode("utf-16"), 400), (b"[" * 60_000, 413),
    (b'{"action": "ack", "pad": "' + b"x" * 5000 + b'"}', 413), (b"{" * 2000 + b"}" * 2000, 400)])
def test_malformed_bodies_are_4xx_json(web, world, body, status):
    response = web.http.post("/app/int_js/incidents/inc-1/actions", body=body, headers={**JSON, **world})
    _ok(response)
    assert response.status_code == status and json.loads(response.body)["message"]


@pytest.mark.parametrize("query", [
    "next=%FF%FE", "next=%00", "next=%0d%0aSet-Cookie:%20x=y", "pending=%FF", "next=a&next=b",
    "x=" + "%F0%9F%98%80" * 100, "&&&", "==", "next", "next=%", "pending=%25%25",
    "next=" + quote("/app/int_js/incidents/é"), "a[b]=c", "next=\\\\evil"])
def test_odd_query_strings_never_crash_a_page(web, world, query):
    for path in ("/app/int_js", "/app/int_js/incidents", "/app/int_js/incidents/inc-1", "/oauth/int_oa/callback"):
        _ok(web.http.get(f"{path}?{query}", headers=world))


def test_unknown_integrations_are_4xx_everywhere(web, world):
    for path, status in (("/app/int_nope", 404), ("/app/int_nope/incidents", 404),
                         ("/app/int_nope/incidents/inc-1", 404),
                         ("/oauth/int_nope/callback?code=c&state=" + "0" * 40, 400)):  # no such sign-in under way
        response = web.http.get(path, headers=world)
        _ok(response)
        assert response.status_code == status
    for path, body in (("/app/int_nope/login", {"code": "c"}), ("/app/int_nope/link", {"mobile": "13800000001"}),
                       ("/app/int_nope/incidents/inc-1/actions", {"action": "ack"}),
                       ("/app/int_nope/incidents/inc-1/war-room", {})):
        response = web.http.post(path, body=json.dumps(body), headers={**JSON, **world})
        _ok(response)
        assert response.status_code in (401, 404)


# -- a seeded, bounded fuzz over every web route ------------------------------------------------------------

ROUTES = [("GET", "/app/{i}"), ("GET", "/app/{i}/incidents"), ("GET", "/app/{i}/incidents/{n}"),
          ("GET", "/oauth/{i}/callback"), ("POST", "/app/{i}/login"), ("POST", "/app/{i}/link"),
          ("POST", "/app/{i}/incidents/{n}/actions"), ("POST", "/app/{i}/incidents/{n}/war-room"), ("GET", "/{i}")]
PIECES = ["int_js", "int_oa", "int_nope", "inc-1", "", " ", "..", "%2F", "%00", "%FF", "é", "%E4%BD%A0", "<b>",
          "a" * 129, "a" * 2100, "0" * 40, "null", "-1", "1e400", "\\", "'", '"', "%", "{}", "[]", "db_session"]
FIELDS = ["code", "next", "state", "error", "pending", "mobile", "action", "minutes", "x"]
VALUES = [*PIECES, 0, -1, 10 ** 30, 1.5, None, True, [], {}, ["ack"], {"a": 1}, "ack", "silence", "resolve",
          "13800000001", "/app/int_js", "//evil.example.com", "javascript:alert(1)"]
ORIGINS = [OWN_ORIGIN, "https://evil.example.com", "null", "", None]
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", "", None, "application/JSON"]
CASES = 300


def _piece(rng: random.Random, real: str = "") -> str:
    """Half the time a real id, so that requests get past the first check and reach deeper."""
    if real and rng.random() < 0.5:
        return real
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 2))) or "x"


def _body(rng: random.Random) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:  # what the page script sends, with odd values now and then
        return json.dumps({"code": _piece(rng, "c"), "next": rng.choice(VALUES), "mobile": _piece(rng, "13800000001"),
                           "action": _piece(rng, rng.choice(["ack", "resolve", "silence"])),
                           "minutes": rng.choice([None, 60, 0, -1, 10 ** 30, "60"])}).encode()
    if kind == 5:
        return json.dumps({rng.choice(FIELDS): rng.choice(VALUES) for _ in range(rng.randint(0, 4))}).encode()
    if kind == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
    if kind == 2:
        return rng.choice([b"[", b"{", b'{"a":']) * rng.randint(1, 3000)
    if kind == 3:
        return json.dumps(rng.choice(VALUES)).encode()
    return b"x" * rng.choice([0, 4097, 70_000])


def _request(rng: random.Random) -> tuple[str, str, dict, bytes]:
    method, template = rng.choice(ROUTES)
    path = template.format(i=quote(_piece(rng, "int_js"), safe="%"), n=quote(_piece(rng, "inc-1"), safe="%"))
    if rng.random() < 0.6:
        path += "?" + "&".join(f"{rng.choice(FIELDS)}={quote(str(rng.choice(VALUES)), safe='%')}"
                               for _ in range(rng.randint(1, 3)))
    headers = {}
    if (origin := rng.choice(ORIGINS)) is not None:
        headers["Origin"] = origin
    if (content_type := rng.choice(CONTENT_TYPES)) is not None:
        headers["Content-Type"] = content_type
    if rng.random() < 0.5:
        headers["Cookie"] = rng.choice(["db_session=" + _piece(rng), f"db_login_{_piece(rng)}={_piece(rng)}", "é=é"])
    if rng.random() < 0.3:
        headers["Accept-Language"] = rng.choice(["en", "zh-CN,zh;q=0.9", "*;q=x", "é" * 300, ";;;"])
    return method, path, headers, _body(rng) if method == "POST" else b""


def test_fuzzed_requests_never_get_a_5xx(web, world):
    rng = random.Random(20261122)
    for _ in range(CASES):
        method, path, headers, body = _request(rng)
        if "Cookie" not in headers and rng.random() < 0.5:
            headers.update(world)  # half of them signed in, to reach deeper
        response = web.http.request(method, path, headers=headers, body=body)
        assert response.status_code < 500, (method, path, headers, body[:80], response.body[:300])
