"""Just-in-time linking: a click by an unlinked person is kept and applied once they are linked."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from chalicelib.common import clock
from chalicelib.core.callback import Click, Intent
from chalicelib.flows import actions, pending
from tests.factories import member, notification
from tests.routes.conftest import JSON, html, oauth_start, sign_in, to_group


def _incident(web, admin_headers, incident_id: str = "inc-1") -> None:
    """An incident sent to a group chat of each integration, where unlinked people click its card."""
    body = notification(incident_id, members=(), chats=to_group("int_js", "int_oa"))
    assert web.http.post("/incidents", headers=admin_headers, body=json.dumps(body)).status_code == 202


def _unlinked_click(integration_id: str = "int_js", user_id: str = "u-alice", intent: Intent = Intent.ack,
                    minutes: int | None = None) -> str:
    """Click as a person nobody linked yet; returns the path of the link the answer carries."""
    outcome = actions.from_click(integration_id, "fake", Click(user_id=user_id, incident_id="inc-1", intent=intent,
                                                               minutes=minutes))
    assert not outcome.ok and "未关联应用" in outcome.message
    assert outcome.link.startswith(f"https://duty.example.com/app/{integration_id}?pending=")
    parts = urlsplit(outcome.link)
    return f"{parts.path}?{parts.query}"


def _status(web, admin_headers) -> str:
    return json.loads(web.http.get("/incidents/inc-1", headers=admin_headers).body)["status"]


def test_click_is_applied_when_the_person_signs_in_and_is_linked_at_once(web, admin_headers):
    _incident(web, admin_headers)
    link = _unlinked_click()
    assert _status(web, admin_headers) == "triggered"
    member()  # Alice, whose mobile the platform resolves to u-alice: signing in links her
    page = html(web.http.get(link, headers=sign_in(web)))
    assert "已执行您在卡片上的操作：认领 · CPU &gt; 95% on db-1" in page and "已关联 Alice" in page
    assert 'href="/app/int_js/incidents/inc-1"' in page
    incident = json.loads(web.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert incident["status"] == "acknowledged" and incident["timeline"][-1]["by"] == "alice"
    assert incident["timeline"][-1]["source"] == "fake"
    again = html(web.http.get(link, headers=sign_in(web)))
    assert "已过期或已执行" in again  # one time only


def test_click_waits_for_linking_by_mobile_then_is_applied(web, admin_headers):
    _incident(web, admin_headers)
    link = _unlinked_click(intent=Intent.silence, minutes=360)
    member("carol", "Carol", "13800000001")  # another name: signing in alone does not link
    session = sign_in(web)
    waiting = html(web.http.get(link, headers=session))
    assert "完成关联后，将自动执行您在卡片上的操作：屏蔽 360 分钟" in waiting and '<form id="link">' in waiting
    assert json.loads(web.http.get("/incidents/inc-1", headers=admin_headers).body).get("silenced_until") is None
    linked = web.http.post("/app/int_js/link", body=json.dumps({"mobile": "13800000001"}), headers={**JSON, **session})
    assert linked.status_code == 200
    done = html(web.http.get(link, headers={**session, "Accept-Language": "en"}))
    assert "Your card click was applied: silenced 360 min" in done
    incident = json.loads(web.http.get("/incidents/inc-1", headers=admin_headers).body)
    assert incident["silenced_until"] and incident["timeline"][-1]["by"] == "carol"


def test_click_is_refused_for_a_different_signed_in_user(web, admin_headers):
    _incident(web, admin_headers)
    link = _unlinked_click(user_id="u-bob")
    member()  # the signed-in person is u-alice, linked as Alice
    page = html(web.http.get(link, headers=sign_in(web)))
    assert "这个链接来自另一个账号在卡片上的点击，未执行任何操作" in page
    assert _status(web, admin_headers) == "triggered"
    assert pending.find("int_js", parse_qs(urlsplit(link).query)["pending"][0]) is not None  # still Bob's to use


def test_expired_click_says_so_and_changes_nothing(web, admin_headers):
    _incident(web, admin_headers)
    link = _unlinked_click()
    member()
    clock.advance(pending.KEEP_SECONDS + 1)
    page = html(web.http.get(link, headers={**sign_in(web), "Accept-Language": "en"}))
    assert "That card click has expired or was already applied; press the card&#39;s button again." in page
    assert _status(web, admin_headers) == "triggered"


def test_click_kept_for_another_integration_is_not_applied_here(web, admin_headers):
    _incident(web, admin_headers)
    link = _unlinked_click("int_oa")
    member()
    page = html(web.http.get(link.replace("int_oa", "int_js"), headers=sign_in(web)))
    assert "已过期或已执行" in page and _status(web, admin_headers) == "triggered"


def test_refused_click_says_why(web, admin_headers):
    _incident(web, admin_headers)
    link = _unlinked_click()
    member("bob", "Bob", "13800000002")
    web.http.post("/incidents/inc-1/actions", headers=admin_headers,
                  body=json.dumps({"action": "resolve", "by": "bob"}))
    member()
    page = html(web.http.get(link, headers=sign_in(web)))
    assert "卡片上的操作未执行：故障已被 Bob" in page


def test_oauth_sign_in_keeps_the_pending_click_through_the_redirect(web, admin_headers):
    _incident(web, admin_headers)
    link = _unlinked_click("int_oa")
    member()
    state, browser = oauth_start(web, link)
    done = web.http.get(f"/oauth/int_oa/callback?code=c&state={state}", headers=browser)
    assert done.headers["Location"] == link
    page = html(web.http.get(link, headers={"Cookie": done.headers["Set-Cookie"].split(";")[0]}))
    assert "已执行您在卡片上的操作：认领" in page and _status(web, admin_headers) == "acknowledged"


def test_in_client_sign_in_page_returns_to_the_pending_link(web, admin_headers):
    _incident(web, admin_headers)
    link = _unlinked_click()
    page = html(web.http.get(link))
    assert f'"back": "{link}"' in page and '"signin": true' in page
