"""The simulators' seeded fault mix and answer faults: a call can take effect while its answer is slow,
too late or never comes, and the app's reply to a callback can reach the platform after its deadline."""
from __future__ import annotations

import time
from typing import Iterator

import pytest
import requests

from devkit.simulators import outbound
from devkit.simulators.dingtalk.gate import FAULT_KINDS as DINGTALK_KINDS
from devkit.simulators.faults import ANSWER_KINDS, FaultMix
from devkit.simulators.http import Router, json_response, serve
from devkit.simulators.outbound import Delivery, post
from devkit.simulators.wecom.simulator import WeComSimulator


@pytest.fixture
def sim() -> Iterator[WeComSimulator]:
    simulator = WeComSimulator(ticket_interval=None)
    with simulator.serving():
        yield simulator


def _token(sim: WeComSimulator) -> str:
    return requests.get(f"{sim.api_base}/cgi-bin/gettoken", params={
        "corpid": sim.corp.corp_id, "corpsecret": sim.corp.secret}, timeout=5).json()["access_token"]


def _send_text(sim: WeComSimulator, timeout: float = 5.0, token: str = "") -> requests.Response:
    token = token or _token(sim)
    return requests.post(f"{sim.api_base}/cgi-bin/message/send", params={"access_token": token}, timeout=timeout,
                         json={"touser": "ZhangWei", "msgtype": "text", "agentid": sim.corp.agent_id,
                               "text": {"content": "db-1 down"}})


def _texts(sim: WeComSimulator) -> int:
    return len(sim.messages.spaces.get("user:ZhangWei", []))


def test_a_mix_draws_the_same_faults_from_the_same_seed_at_about_its_rate() -> None:
    first, second = FaultMix(0.2, "seed"), FaultMix(0.2, "seed")
    drawn = [first.draw(DINGTALK_KINDS) for _ in range(2000)]
    assert [f and (f.kind, f.seconds) for f in drawn] == [
        f and (f.kind, f.seconds) for f in (second.draw(DINGTALK_KINDS) for _ in range(2000))]
    kinds = {f.kind for f in drawn if f}
    assert kinds == {"http500", "qps", *ANSWER_KINDS}  # the platform's own 5xx and throttle, never quota or token
    assert 0.17 < sum(first.drawn.values()) / first.calls < 0.23
    assert all(2.5 <= f.seconds <= 4.0 for f in drawn if f and f.kind == "slow")


def test_a_mix_refuses_a_rate_outside_zero_to_one() -> None:
    with pytest.raises(ValueError):
        FaultMix(1.5, 1)


def test_a_dropped_answer_leaves_the_call_applied(sim: WeComSimulator) -> None:
    sim.inject("/message/send", "dropped")
    with pytest.raises(requests.ConnectionError):
        _send_text(sim)
    assert _texts(sim) == 1  # the message went out, the app could not know


def test_a_lost_answer_comes_after_the_caller_gave_up(sim: WeComSimulator) -> None:
    sim.inject("/message/send", "lost", seconds=1.0)
    with pytest.raises(requests.ReadTimeout):
        _send_text(sim, timeout=0.3)
    assert _texts(sim) == 1


def test_a_slow_answer_is_late_but_complete(sim: WeComSimulator) -> None:
    sim.inject("/message/send", "slow", seconds=0.4)
    started = time.monotonic()
    assert _send_text(sim).json()["errcode"] == 0
    assert time.monotonic() - started >= 0.4


def test_the_mix_plays_on_every_api_call_until_it_is_taken_away(sim: WeComSimulator) -> None:
    token = _token(sim)
    sim.mix_faults(FaultMix(1.0, 3, weights={"server_error": 1.0}))
    refused = [_send_text(sim, token=token) for _ in range(4)]
    assert {r.status_code for r in refused} <= {200, 500} and _texts(sim) == 0  # busy (-1) or HTTP 500: not sent
    sim.mix_faults(None)
    assert _send_text(sim, token=token).json()["errcode"] == 0


@pytest.fixture
def app_url() -> Iterator[str]:
    router = Router()
    router.add("POST", "/card", lambda request: json_response(200, {"toast": "ok"}))
    server, _ = serve(router)
    try:
        yield f"http://127.0.0.1:{server.server_port}/card"
    finally:
        server.shutdown()
        server.server_close()
        outbound.NETWORK.mix = None


def test_a_reply_slowed_on_the_way_back_is_late_and_the_platform_waits_only_until_its_deadline(app_url: str) -> None:
    outbound.NETWORK.mix = FaultMix(1.0, 1, weights={"slow": 1.0}, slow_seconds=(3.0, 3.0))
    delivery = Delivery("card", app_url, "ack", time.time(), deadline_ms=300)
    started = time.monotonic()
    post(delivery, timeout=5, json={})
    assert delivery.late and not delivery.ok and delivery.latency_ms >= 3000
    assert time.monotonic() - started < 1.5  # it stopped waiting at its deadline


def test_a_reply_dropped_on_the_way_back_never_arrives(app_url: str) -> None:
    outbound.NETWORK.mix = FaultMix(1.0, 1, weights={"dropped": 1.0})
    delivery = Delivery("card", app_url, "ack", time.time(), deadline_ms=200)
    assert post(delivery, timeout=5, json={}) is None
    assert delivery.error and delivery.status is None and not delivery.ok


def test_without_a_mix_the_way_back_is_instant(app_url: str) -> None:
    delivery = Delivery("card", app_url, "ack", time.time(), deadline_ms=2000)
    assert post(delivery, timeout=5, json={}).status_code == 200 and delivery.ok
