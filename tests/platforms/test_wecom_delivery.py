"""WeCom cards through the real delivery flow against the WeCom simulator: a send whose answer was lost."""
from __future__ import annotations

import json
from typing import Iterator

import pytest
import requests

from chalicelib.common import clock
from chalicelib.flows import consumers as worker
from chalicelib.platforms import http
from chalicelib.store import deliveries, people
from chalicelib.store import integrations as integration_store
from devkit.simulators.wecom.simulator import WeComSimulator
from tests.conftest import drain
from tests.factories import member, notification, stored_integration

INTEGRATION, USER = "int_wcsim", "ZhangWei"
TARGET_KEY = f"{INTEGRATION}#user#{USER}"


@pytest.fixture
def sim() -> Iterator[WeComSimulator]:
    simulator = WeComSimulator(ticket_interval=None)
    simulator.corp.callback_url = "https://duty.example.com/callbacks/int_wcsim/events"  # 接收消息 is set up
    with simulator.serving():
        yield simulator


@pytest.fixture
def wecom(client, sim: WeComSimulator, monkeypatch):
    monkeypatch.setattr(worker, "retry_delay", lambda attempt, exc: 0)  # moto keeps delayed jobs back
    corp = sim.corp
    stored_integration("wecom", INTEGRATION, corp_id=corp.corp_id, agent_id=corp.agent_id, secret=corp.secret,
                       token=corp.token, encoding_aes_key=corp.encoding_aes_key)
    item = integration_store.get(INTEGRATION)
    integration_store.replace({**item, "settings": {"api_base": sim.api_base}})
    member()
    people.bind("alice", INTEGRATION, USER, "Alice", clock.iso())
    return client


@pytest.fixture
def answer_lost(monkeypatch):
    """The next call to a path reaches the platform and is applied there, but its answer never comes back
    (the HTTP timeout here, a success at WeCom)."""
    lost: list[str] = []
    real = http._session.request

    def request(method, url, **kwargs):
        answer = real(method, url, **kwargs)
        if lost and url.split("?")[0].endswith(lost[0]):
            lost.pop()
            raise requests.ReadTimeout("read timed out")
        return answer

    monkeypatch.setattr(http._session, "request", request)
    return lost.append


def _run_deliveries() -> None:
    while jobs := drain("deliveries"):
        for job in jobs:
            worker.handle_delivery(json.dumps(job["body"]))


def _cards(sim: WeComSimulator) -> list[dict]:
    return [m for m in sim.state()["spaces"].get(f"user:{USER}", []) if m["msgtype"] == "template_card"]


def _click(client, sim: WeComSimulator, key: str):
    """The callback WeCom sends for a click on the card, with the fresh update code it mints."""
    card = _cards(sim)[0]
    with sim.lock:
        code = sim.home.messages.codes.mint(card["taskId"], f"click:{USER}", sim.now())
    inner = (f"<xml><ToUserName><![CDATA[{sim.corp.corp_id}]]></ToUserName><FromUserName><![CDATA[{USER}]]>"
             f"</FromUserName><CreateTime>{int(clock.now())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
             f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
             f"<TaskId><![CDATA[{card['taskId']}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
             f"<ResponseCode><![CDATA[{code}]]></ResponseCode><AgentID>{sim.corp.agent_id}</AgentID></xml>")
    encrypt, stamp = sim.crypt.encrypt(inner), str(int(clock.now()))
    query = f"msg_signature={sim.crypt.sign(stamp, '42', encrypt)}&timestamp={stamp}&nonce=42"
    body = f"<xml><ToUserName>{sim.corp.corp_id}</ToUserName><Encrypt>{encrypt}</Encrypt></xml>"
    return client.http.post(f"/callbacks/{INTEGRATION}/events?{query}", body=body, headers={"Content-Type": "text/xml"})


def test_a_send_whose_answer_was_lost_is_recorded_as_sent_and_refreshable(wecom, sim, answer_lost, admin_headers):
    answer_lost("/cgi-bin/message/send")
    worker.handle_notification(json.dumps(notification(members=["alice"])))
    _run_deliveries()

    record = deliveries.get("inc-1", TARGET_KEY)
    assert len(_cards(sim)) == 1  # the first attempt's card, and no second one
    assert [r["code"] for r in sim.state()["rejections"]] == [42014]  # the retry, refused as WeCom does
    assert record["state"] == "sent" and record["ref"]["task_id"] == _cards(sim)[0]["taskId"]
    assert "card_digest" not in record  # what the card shows is not known, and the delivery says why
    assert "response_code.spent" in record["error"]

    # the incident changes: there is no update code yet, so the card cannot follow ...
    wecom.http.post("/incidents/inc-1/actions", headers=admin_headers,
                    body=json.dumps({"action": "resolve", "by": "alice"}))
    _run_deliveries()
    record = deliveries.get("inc-1", TARGET_KEY)
    assert record["state"] == "sent" and "response_code.spent" in record["error"]
    assert "待处理" in _cards(sim)[0]["content"]["main_title"]["desc"]

    # ... until the person presses 状态刷新, whose code brings the card up to date
    assert _click(wecom, sim, "refresh/0/inc-1").status_code == 200
    _run_deliveries()
    assert "已关闭" in _cards(sim)[0]["content"]["main_title"]["desc"]
    assert deliveries.get("inc-1", TARGET_KEY)["state"] == "sent"


def test_refresh_brings_a_found_card_up_to_date_even_when_the_incident_did_not_change(wecom, sim, answer_lost):
    """The lost first attempt may have shown an older state than the retry rendered: 状态刷新 updates it."""
    answer_lost("/cgi-bin/message/send")
    worker.handle_notification(json.dumps(notification(members=["alice"])))
    _run_deliveries()
    _click(wecom, sim, "refresh/0/inc-1")
    _run_deliveries()
    assert [u["kind"] for u in _cards(sim)[0]["updates"]] == ["template_card"]
