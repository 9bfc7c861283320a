"""The linking page (web_home): sign-in inside the client or by OAuth redirect, linking, the session cookie."""
from __future__ import annotations

import json

import pytest

from chalicelib.store import people
from chalicelib.web import signin as weblogin
from tests.factories import member
from tests.routes.conftest import JSON, cookie_of, html, oauth_start, sign_in

EN = {"Accept-Language": "en-US;q=0.9, zh-CN;q=0.8"}


def _assert_session_cookie(set_cookie: str) -> None:
    flags = [part.strip() for part in set_cookie.split(";")]
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/app/"} <= set(flags), set_cookie


def test_in_client_sign_in_links_a_member_by_name_and_proven_mobile(web):
    member()
    page = html(web.http.get("/app/int_js"))
    assert "正在通过fake登录" in page and '"platform": "fake"' in page and '"signin": true' in page
    response = web.http.post("/app/int_js/login", body=json.dumps({"code": "c1"}), headers=JSON)
    body = json.loads(response.body)
    assert body["member"]["id"] == "alice" and body["user"]["id"] == "u-alice"
    _assert_session_cookie(response.headers["Set-Cookie"])
    assert people.binding_of_user("int_js", "u-alice")["member_id"] == "alice"


def test_unmatched_user_links_by_a_mobile_the_platform_confirms(web):
    member("bob", "Bob", "13800000002")
    login = web.http.post("/app/int_js/login", body=json.dumps({"code": "c1"}), headers=JSON)
    assert json.loads(login.body)["member"] is None  # the fake user is "Alice", no member of that name
    headers = {**JSON, "Cookie": cookie_of(login)}
    refused = web.http.post("/app/int_js/link", body=json.dumps({"mobile": "13800000002"}), headers=headers)
    assert refused.status_code == 400  # that mobile resolves to u-bob, not to the signed-in u-alice
    member("carol", "Carol", "13800000001")
    linked = web.http.post("/app/int_js/link", body=json.dumps({"mobile": "13800000001"}), headers=headers)
    assert json.loads(linked.body)["member"]["id"] == "carol"


def test_linking_without_a_session_is_refused(web):
    response = web.http.post("/app/int_js/link", body=json.dumps({"mobile": "13800000001"}), headers=JSON)
    assert response.status_code == 401


def test_linked_person_sees_linked_as_in_chinese_by_default_and_english_when_preferred(web):
    member()
    session = sign_in(web)
    chinese = html(web.http.get("/app/int_js", headers=session))
    assert "已关联 Alice" in chinese and 'lang="zh-CN"' in chinese and 'href="/app/int_js/incidents"' in chinese
    english = html(web.http.get("/app/int_js", headers={**session, **EN}))
    assert "Linked as Alice" in english and 'lang="en"' in english and "已关联" not in english


def test_unlinked_person_is_told_why_and_what_to_do(web):
    member("carol", "Carol", "13800000009")  # neither the name nor the mobile matches u-alice
    page = html(web.http.get("/app/int_js", headers=sign_in(web)))
    assert "未关联应用" in page
    assert "Alice" in page and "登记的手机号" in page and '<form id="link">' in page
    english = html(web.http.get("/app/int_js", headers={**sign_in(web), "Accept-Language": "en"}))
    assert "Account not linked" in english and "Registered mobile" in english


def test_linked_person_asked_to_go_on_is_sent_there(web):
    member()
    response = web.http.get("/app/int_js?next=/app/int_js/incidents", headers=sign_in(web))
    assert response.status_code == 302 and response.headers["Location"] == "/app/int_js/incidents"


def test_oauth_sign_in_uses_a_one_time_state_and_returns_to_the_wanted_page(web):
    member()
    state, browser = oauth_start(web, "/app/int_oa?next=/app/int_oa/incidents/inc-9")
    done = web.http.get(f"/oauth/int_oa/callback?code=c&state={state}", headers=browser)
    assert done.status_code == 302 and done.headers["Location"] == "/app/int_oa/incidents/inc-9"
    _assert_session_cookie(done.headers["Set-Cookie"])
    used = web.http.get(f"/oauth/int_oa/callback?code=c&state={state}", headers=browser)
    assert used.status_code == 400 and "登录已过期" in html(used)
    home = web.http.get("/app/int_oa", headers={"Cookie": cookie_of(done)})
    assert home.status_code == 200 and "已关联 Alice" in html(home)


@pytest.mark.parametrize("query", ["code=c&state=forged", "code=c", "error=access_denied&state=x"])
def test_oauth_callback_refusals_are_pages_that_say_what_to_do(web, query):
    response = web.http.get(f"/oauth/int_oa/callback?{query}", headers={"Accept-Language": "en"})
    assert 400 <= response.status_code < 500
    assert "Open the app again" in html(response) and 'href="/app/int_oa"' in html(response)


def test_next_never_leaves_the_integrations_pages(web):
    state, browser = oauth_start(web, "/app/int_oa?next=https://evil.example.com/")
    assert web.http.get(f"/oauth/int_oa/callback?code=c&state={state}", headers=browser).headers["Location"] == \
        "/app/int_oa"


@pytest.mark.parametrize("wanted, kept", [
    ("/app/int_oa/incidents/inc-1", True), ("/app/int_oa?pending=abc", True), ("/app/int_oa", True),
    ("https://evil.example.com/app/int_oa/x", False), ("//evil.example.com/app/int_oa/", False),
    ("/app/int_oa/..//evil", False), ("/app/int_oab/incidents", False), ("/app/other", False),
    ("/app/int_oa/x\r\nSet-Cookie: a=b", False), ("/app/int_oa/\\evil", True), ("", False), (None, False)])
def test_safe_next_keeps_only_this_integrations_paths(wanted, kept):
    assert weblogin.safe_next("int_oa", wanted) == (wanted if kept else "/app/int_oa")
