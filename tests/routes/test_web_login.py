"""Login CSRF: an OAuth ``state`` signs in only the browser that started the sign-in.

Without this, someone starts a sign-in, stops at the callback with their own code, and has another
person's browser open that URL: the victim ends up signed in (and linked) as the attacker."""
from __future__ import annotations

import pytest

from chalicelib.store import people
from tests.factories import member
from tests.routes.conftest import html, oauth_start


def test_the_sign_in_sets_a_login_cookie_only_the_callback_receives(web):
    start = web.http.get("/app/int_oa")
    flags = [part.strip() for part in start.headers["Set-Cookie"].split(";")]
    assert flags[0].startswith("db_login_")
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/oauth/int_oa/callback", "Max-Age=600"} <= set(flags)


@pytest.mark.parametrize("cookie", [None, "db_login_{prefix}=someone-elses-secret", "db_login_other=x",
                                    "db_session=abc"], ids=["no cookie", "other secret", "other name", "session"])
def test_a_state_replayed_from_another_browser_signs_nobody_in(web, cookie):
    member()
    state, _attackers_browser = oauth_start(web, "/app/int_oa")
    headers = {"Cookie": cookie.format(prefix=state[:12])} if cookie else {}
    replayed = web.http.get(f"/oauth/int_oa/callback?code=attackers-code&state={state}", headers=headers)
    assert replayed.status_code == 400 and "登录已过期" in html(replayed)
    assert "db_session" not in replayed.headers.get("Set-Cookie", "")
    assert people.binding_of_user("int_oa", "u-alice") is None  # nobody was linked either


def test_a_state_stays_single_use_in_its_own_browser(web):
    state, browser = oauth_start(web, "/app/int_oa")
    assert web.http.get(f"/oauth/int_oa/callback?code=c&state={state}", headers=browser).status_code == 302
    again = web.http.get(f"/oauth/int_oa/callback?code=c&state={state}", headers=browser)
    assert again.status_code == 400 and "db_session" not in again.headers.get("Set-Cookie", "")


def test_two_sign_ins_under_way_in_one_browser_both_finish(web):
    first, first_cookie = oauth_start(web, "/app/int_oa?next=/app/int_oa/incidents")
    second, second_cookie = oauth_start(web, "/app/int_oa")
    both = {"Cookie": f"{first_cookie['Cookie']}; {second_cookie['Cookie']}"}
    assert web.http.get(f"/oauth/int_oa/callback?code=c&state={second}", headers=both).status_code == 302
    done = web.http.get(f"/oauth/int_oa/callback?code=c&state={first}", headers=both)
    assert done.status_code == 302 and done.headers["Location"] == "/app/int_oa/incidents"
