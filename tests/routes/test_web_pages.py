"""The incident page, "my incidents" and the error pages: content, language, escaping, access."""
from __future__ import annotations

import json
import re

import pytest

from chalicelib.store import chats
from chalicelib.store import incidents as incident_store
from tests.factories import alert_group, member, notification, with_alerts
from tests.routes.conftest import JSON, html, sign_in, to_group

HOSTILE = "<script>alert(1)</script>"


def _incident(web, admin_headers, incident_id: str = "inc-1", members=("alice",), chats_=(), **fields) -> None:
    body = notification(incident_id, members=members, chats=chats_, **fields)
    assert web.http.post("/incidents", headers=admin_headers, body=json.dumps(body)).status_code == 202


def _add_war_room(incident_id: str, integration_id: str, **room) -> None:
    item = incident_store.get(incident_id)
    item["war_rooms"] = {integration_id: {"chat_id": "wr-1", "created_at": "2026-01-01T00:00:00Z", **room}}
    incident_store.save({**item, "version": item["version"] + 1}, expected_version=item["version"])


@pytest.fixture
def linked(web):
    member()
    return sign_in(web)


def test_incident_page_needs_a_sign_in_and_comes_back_after_it(web, admin_headers):
    _incident(web, admin_headers)
    response = web.http.get("/app/int_js/incidents/inc-1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/app/int_js?next=%2Fapp%2Fint_js%2Fincidents%2Finc-1"


def test_incident_page_shows_state_card_actions_timeline_and_deliveries(web, admin_headers, linked):
    _incident(web, admin_headers, chats_=[{"integration_id": "int_js", "chat_id": "chat-1"}],
              description="disk full", labels={"service": "db"})
    page = html(web.http.get("/app/int_js/incidents/inc-1", headers=linked))
    assert "严重" in page and "待处理" in page and "CPU &gt; 95% on db-1" in page and "disk full" in page
    assert re.findall(r'data-action="(\w+)" data-minutes="(\d*)"', page) == [
        ("ack", ""), ("resolve", ""), ("silence", "120"), ("silence", "360"), ("silence", "1440")]
    assert "认领" in page and "屏蔽 2 小时" in page and "更长时间屏蔽" in page
    assert "告警源 · 触发" in page  # the timeline
    deliveries = page.split("通知投递")[1]
    assert "Alice" in deliveries and "值班群" in deliveries and "待发送" in deliveries
    assert '"actions": "/app/int_js/incidents/inc-1/actions"' in page


def test_incident_page_speaks_english_when_the_browser_prefers_it(web, admin_headers, linked):
    _incident(web, admin_headers)
    page = html(web.http.get("/app/int_js/incidents/inc-1", headers={**linked, "Accept-Language": "en-US,en;q=0.9"}))
    assert "Critical" in page and "Triggered" in page and "Acknowledge" in page and "Timeline" in page
    assert "待处理" not in page and "认领" not in page


def test_acting_from_the_page_changes_what_it_shows(web, admin_headers, linked):
    _incident(web, admin_headers)
    acted = web.http.post("/app/int_js/incidents/inc-1/actions", body=json.dumps({"action": "ack"}),
                          headers={**JSON, **linked})
    assert acted.status_code == 200 and json.loads(acted.body)["timeline"][-1]["by"] == "alice"
    page = html(web.http.get("/app/int_js/incidents/inc-1", headers=linked))
    assert "处理中" in page and "Alice · 认领" in page and 'data-action="ack"' not in page
    web.http.post("/app/int_js/incidents/inc-1/actions", body=json.dumps({"action": "resolve"}),
                  headers={**JSON, **linked})
    page = html(web.http.get("/app/int_js/incidents/inc-1", headers=linked))
    assert "故障已关闭，无需操作" in page and 'data-action="' not in page


def test_the_timeline_says_a_silence_in_the_pages_language(web, admin_headers, linked):
    _incident(web, admin_headers)
    web.http.post("/app/int_js/incidents/inc-1/actions", body=json.dumps({"action": "silence", "minutes": 360}),
                  headers={**JSON, **linked})
    assert "Alice · 屏蔽 360 分钟" in html(web.http.get("/app/int_js/incidents/inc-1", headers=linked))
    english = html(web.http.get("/app/int_js/incidents/inc-1", headers={**linked, "Accept-Language": "en"}))
    assert "Alice · silenced 360 min" in english


def test_signed_in_but_unlinked_person_sees_the_incident_and_is_asked_to_link_to_act(web, admin_headers):
    _incident(web, admin_headers, members=(), chats_=to_group("int_js"))
    page = html(web.http.get("/app/int_js/incidents/inc-1", headers=sign_in(web)))
    assert 'data-action="' not in page and "关联账号后即可在这里操作" in page
    assert 'href="/app/int_js?next=%2Fapp%2Fint_js%2Fincidents%2Finc-1"' in page
    refused = web.http.post("/app/int_js/incidents/inc-1/actions", body=json.dumps({"action": "ack"}),
                            headers={**JSON, **sign_in(web)})
    assert refused.status_code == 401 and "未关联应用" in json.loads(refused.body)["message"]


def test_everything_from_producers_and_platforms_is_escaped(web, admin_headers, linked):
    chats.upsert("int_js", "chat-1", active=True, title=f"<b>{HOSTILE}</b>")
    _incident(web, admin_headers, title=HOSTILE, description='<img src=x onerror="alert(2)">',
              labels={"<k>": "<v>"}, url="javascript:alert(3)",
              chats_=[{"integration_id": "int_js", "chat_id": "chat-1"}])
    _add_war_room("inc-1", "int_js", title=HOSTILE, url="javascript:alert(4)")
    page = html(web.http.get("/app/int_js/incidents/inc-1", headers=linked))
    assert HOSTILE not in page and "<img" not in page and "<k>" not in page and "javascript:" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in page
    assert "<title>&lt;script&gt;" in page


def test_war_room_shows_its_link_or_where_to_find_it(web, admin_headers, linked):
    _incident(web, admin_headers, url="https://monitor.example.com/inc/1")
    assert "打开作战室" not in html(web.http.get("/app/int_js/incidents/inc-1", headers=linked))
    _add_war_room("inc-1", "int_js", title="INC-1 db", url="https://chat.example.com/room?a=1&b=2")
    page = html(web.http.get("/app/int_js/incidents/inc-1", headers=linked))
    assert 'href="https://chat.example.com/room?a=1&amp;b=2"' in page and "打开作战室" in page and "INC-1 db" in page
    assert 'href="https://monitor.example.com/inc/1"' in page
    _add_war_room("inc-1", "int_js", title="INC-1 db")
    page = html(web.http.get("/app/int_js/incidents/inc-1", headers={**linked, "Accept-Language": "en"}))
    assert "War room" in page and "Find “INC-1 db” among your fake chats." in page
    other = html(web.http.get("/app/int_oa/incidents/inc-1", headers=sign_in(web, "int_oa")))
    assert "INC-1 db" not in other  # the war room belongs to the other integration


def test_a_linked_member_starts_the_war_room_from_the_page(web, admin_headers, linked):
    from tests.fakes import FakeAdapter
    _incident(web, admin_headers)
    page = html(web.http.get("/app/int_js/incidents/inc-1", headers=linked))
    assert '<button id="war-room"' in page and "开启作战室" in page
    for expected_rooms in (1, 1):  # pressing it again finds the same room
        answer = web.http.post("/app/int_js/incidents/inc-1/war-room", headers={**linked, **JSON}, body="{}")
        assert answer.status_code == 200 and answer.json_body["chat_id"].startswith("chat-")
        assert len(FakeAdapter.rooms) == expected_rooms
    page = html(web.http.get("/app/int_js/incidents/inc-1", headers=linked))
    assert '<button id="war-room"' not in page and "开启作战室" in page  # the timeline says who opened it


def test_only_linked_members_start_war_rooms_and_not_for_resolved_incidents(web, admin_headers):
    _incident(web, admin_headers, chats_=to_group("int_js"))
    unlinked = sign_in(web)
    page = html(web.http.get("/app/int_js/incidents/inc-1", headers=unlinked))
    assert '<button id="war-room"' not in page
    assert web.http.post("/app/int_js/incidents/inc-1/war-room", headers={**unlinked, **JSON},
                         body="{}").status_code == 401
    member()
    _incident(web, admin_headers, "inc-2", status="resolved", chats_=to_group("int_js"))
    linked = sign_in(web)
    assert '<button id="war-room"' not in html(web.http.get("/app/int_js/incidents/inc-2", headers=linked))
    assert web.http.post("/app/int_js/incidents/inc-2/war-room", headers={**linked, **JSON},
                         body="{}").status_code == 409


def _involve(web, admin_headers) -> None:
    member("bob", "Bob", "13800000002")
    _incident(web, admin_headers, "inc-old-open", started_at="2026-01-01T00:00:00Z")
    _incident(web, admin_headers, "inc-new-open", started_at="2026-03-01T09:00:00+08:00", title=HOSTILE)
    _incident(web, admin_headers, "inc-acted", members=("bob",), chats_=to_group("int_js"),
              started_at="2026-03-01T02:00:00Z")
    _incident(web, admin_headers, "inc-resolved", started_at="2026-04-01T00:00:00Z", status="resolved")
    _incident(web, admin_headers, "inc-not-mine", members=("bob",), started_at="2026-05-01T00:00:00Z")
    web.http.post("/incidents/inc-acted/actions", headers=admin_headers,
                  body=json.dumps({"action": "ack", "by": "alice"}))


def test_my_incidents_lists_targeted_and_acted_ones_open_first_then_newest(web, admin_headers, linked):
    _involve(web, admin_headers)
    page = html(web.http.get("/app/int_js/incidents", headers=linked))
    listed = re.findall(r'href="/app/int_js/incidents/([\w-]+)"', page)
    assert listed == ["inc-acted", "inc-new-open", "inc-old-open", "inc-resolved"]
    acted = page.split("/incidents/inc-acted")[1].split("</a>")[0]
    assert "您处理过" in acted and "通知了您" not in acted and "处理中" in acted
    assert "通知了您" in page.split("/incidents/inc-old-open")[1].split("</a>")[0]
    assert HOSTILE not in page and "&lt;script&gt;" in page
    english = html(web.http.get("/app/int_js/incidents", headers={**linked, "Accept-Language": "en"}))
    assert "My incidents" in english and "you acted" in english and "notified you" in english


def test_my_incidents_is_empty_for_a_new_member_and_needs_a_linked_sign_in(web, admin_headers):
    assert web.http.get("/app/int_js/incidents").headers["Location"] == "/app/int_js?next=%2Fapp%2Fint_js%2Fincidents"
    unlinked = web.http.get("/app/int_js/incidents", headers=sign_in(web))
    assert unlinked.status_code == 302 and unlinked.headers["Location"].startswith("/app/int_js?next=")
    member()
    page = html(web.http.get("/app/int_js/incidents", headers=sign_in(web)))
    assert "暂时没有与您相关的故障" in page


def test_unknown_ids_are_404_pages_in_the_readers_language(web, linked):
    missing = web.http.get("/app/int_js/incidents/inc-nope", headers=linked)
    assert missing.status_code == 404 and "找不到页面" in html(missing) and 'href="/app/int_js"' in html(missing)
    english = web.http.get("/app/int_js/incidents/inc-nope", headers={**linked, "Accept-Language": "en"})
    assert english.status_code == 404 and "Not found" in html(english)
    unknown = web.http.get("/app/int_nope")
    assert unknown.status_code == 404 and "找不到页面" in html(unknown) and 'href="/app/int_nope"' not in html(unknown)


@pytest.mark.parametrize("path", [
    "/app/int_js/incidents/%3Cscript%3E", "/app/int_js?pending=short", "/app/int_js?pending=" + "x" * 80,
    "/app/int_js?next=" + "a" * 600, "/app/%20/incidents", "/app/int_js/incidents/" + "a" * 300])
def test_bad_parameters_are_400_pages(web, linked, path):
    response = web.http.get(path, headers=linked)
    assert response.status_code == 400 and "请求有误" in html(response)


@pytest.mark.parametrize("path", [
    "/app/int_js?pending=", "/app/int_js?next=", "/app/int_js?next=javascript:alert(1)", "/app/int_js?x=<b>",
    "/app/int_js/incidents/inc-1", "/oauth/int_js/callback?code=c&state=" + "s" * 40, "/oauth/int_nope/callback",
    "/app/int_oa/incidents?next=//evil"])
def test_odd_requests_never_crash_a_page(web, linked, path):
    response = web.http.get(path, headers=linked)
    assert response.status_code < 500 and "Traceback" not in response.body.decode()


def _follow_group(incident_id: str, group, **fields) -> None:
    """The stored incident as core.alert_incidents keeps one that follows ``group`` (its links, source, silence)."""
    item = incident_store.get(incident_id)
    followed = with_alerts(item, group) | fields
    incident_store.save({**followed, "version": item["version"] + 1}, expected_version=item["version"])


def test_incident_page_shows_every_kept_alert_its_links_the_silence_and_the_previous_incident(
        web, admin_headers, linked):
    _incident(web, admin_headers)
    group = alert_group(150, "磁盘已满 <b>disk</b>", resolved=60, starts_at=1764583200.0)  # 12-01 10:00 UTC
    _follow_group("inc-1", group, timezone="Europe/Berlin", previous_incident_id="src.g.1",
                  links={"generator": "http://prometheus.example.com/graph", "external": "javascript:alert(1)"},
                  silence={"id": "4c2f1b9e-8a3d", "backend": "alertmanager", "by": "Alice",
                           "until": "2099-01-01T00:00:00Z"}, silenced_until="2099-01-01T00:00:00Z")
    page = html(web.http.get("/app/int_js/incidents/inc-1", headers=linked))
    assert "告警 150 条：触发 90 · 恢复 60" in page
    alerts = page.split('<ul id="alerts">')[1].split("</ul>")[0]
    assert alerts.count("<li>") == 100  # every alert the incident keeps (core.alerts.MAX_KEPT_ALERTS)
    assert "磁盘已满 &lt;b&gt;disk&lt;/b&gt;" in alerts and "<b>instance</b>=db-0:9100" in alerts
    assert "<b>恢复</b>" in alerts and "结束 <time>12-01 12:00 (UTC+1)</time>" in alerts  # Berlin time
    assert "<time>12-01 11:00 (UTC+1)</time>" in alerts and "db-139:9100" not in alerts  # kept: firing, then newest
    assert 'href="http://prometheus.example.com/graph?g0.expr=disk149"' in alerts
    assert '>告警规则</a>' in page and "javascript:" not in page
    assert "屏蔽 ID（alertmanager）：4c2f1b9e-8a3d" in page
    assert 'href="/app/int_js/incidents/src.g.1">上一次故障' in page
    assert re.findall(r'data-action="(\w+)"', page) == ["ack", "resolve", "unsilence"]  # 取消屏蔽, no silences
    assert "取消屏蔽" in page and "更长时间屏蔽" not in page


def test_unsilence_from_the_page_ends_the_silence(web, admin_headers, linked):
    _incident(web, admin_headers)
    web.http.post("/app/int_js/incidents/inc-1/actions", body=json.dumps({"action": "silence", "minutes": 120}),
                  headers={**JSON, **linked})
    acted = web.http.post("/app/int_js/incidents/inc-1/actions", body=json.dumps({"action": "unsilence"}),
                          headers={**JSON, **linked})
    assert acted.status_code == 200 and not json.loads(acted.body).get("silenced_until")
    page = html(web.http.get("/app/int_js/incidents/inc-1", headers=linked))
    assert "Alice · 取消屏蔽" in page and 'data-action="unsilence"' not in page and 'data-minutes="120"' in page
    english = html(web.http.get("/app/int_js/incidents/inc-1", headers={**linked, "Accept-Language": "en"}))
    assert "Alice · unsilenced" in english


def test_a_reports_page_shows_it_with_its_link_and_nothing_to_act_on(web, admin_headers, linked):
    from tests.unit.test_reports import report_body
    body = report_body(kind="dataset_sync", status="failed", text="同步失败 sync failed")
    assert web.http.post("/incidents", headers=admin_headers, body=json.dumps(body)).status_code == 202
    page = html(web.http.get("/app/int_js/incidents/report.sales-daily", headers=linked))
    assert "失败" in page and "同步失败 sync failed" in page and "数据集同步 Dataset sync" in page
    assert 'href="https://datawind.example.com/dashboard/42"' in page and "收到报告" in page
    assert "报告仅供查看" in page and 'data-action="' not in page and 'id="war-room"' not in page
    refused = web.http.post("/app/int_js/incidents/report.sales-daily/actions", body=json.dumps({"action": "ack"}),
                            headers={**JSON, **linked})
    assert refused.status_code == 409
