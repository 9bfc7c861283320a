"""What every platform's adapter promises, checked the same way for each registered platform.

Each adapter is built from the values its seed guide has the admin enter, read off its simulator
(``devkit.simulators.SIMULATORS``); its callback URLs are saved in the simulated console, which checks
them with the platform's own signed handshake against the adapter served here; then it talks to that
simulator, which enforces the platform's own limits and answers with its own error codes. A platform
added to the registry is checked here without a line of this file changing: signing, limits, rendering
within the platform's sizes, callbacks that cannot be verified, and error mapping.
"""
from __future__ import annotations

import json
import random
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from chalicelib.common.errors import CallbackRejected, PlatformError, RateLimited, Retryable
from chalicelib.core import cards
from chalicelib.core.callback import Endpoint, InboundRequest
from chalicelib.platforms import apps, build, names
from chalicelib.platforms.base import Adapter
from devkit.console import Console
from devkit.simulators import SIMULATORS, entry_for
from devkit.simulators.faults import SERVER_ERRORS, THROTTLES
from tests.factories import alert_group, with_alerts
from tests.local_http import serving

# The largest incident a producer may send (core.models.IncidentFields bounds), in CJK and ASCII.
LARGEST = {"id": "inc-contract", "severity": "critical", "status": "triggered",
           "title": "数据库主库连接数打满 " * 46, "description": "下单接口大面积超时 timeout; " * 400,
           "labels": {f"label_{n:02d}": "值" * 40 + "v" * 60 for n in range(50)},
           "url": "https://grafana.example.com/d/" + "x" * 1990}


@contextmanager
def _serving_callbacks(adapter_of: dict) -> Iterator[str]:
    """The callback URLs of ``adapter_of["adapter"]`` served the way the routes serve them; yields the base."""
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            request = InboundRequest(method=self.command, query=dict(parse_qsl(url.query)),
                                     headers={k.lower(): v for k, v in self.headers.items()}, body=body)
            endpoint = Endpoint.card if url.path.endswith("/card") else Endpoint.events
            try:
                reply = getattr(adapter_of["adapter"].parse_callback(request, endpoint), "reply", None)
            except CallbackRejected:
                reply = None
            status = reply.status if reply else 400
            text = reply.body if reply and reply.content_type != "application/json" else json.dumps(
                reply.body if reply else {"error": "callback_rejected"})
            self.send_response(status)
            self.send_header("Content-Type", reply.content_type if reply else "application/json")
            self.end_headers()
            self.wfile.write(text.encode() if isinstance(text, str) else text)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    with serving(Handler) as base:
        yield base


@pytest.fixture(params=apps())  # the group robots have their own contract: test_robot_contract.py
def platform(request, aws_env) -> Iterator[tuple[Adapter, object]]:
    """A registered platform's adapter wired to its simulator, its URLs saved in the simulated console."""
    entry, served = SIMULATORS[request.param], {}
    sim = entry.simulator()
    with sim.serving(), _serving_callbacks(served) as base:
        state = requests.get(sim.mounted("/_sim/state"), timeout=10).json()
        body = entry.integration(state, sim.base_url)
        adapter = served["adapter"] = build(request.param, f"int_{uuid.uuid4().hex[:8]}", body["credentials"],
                                            body["settings"])
        urls = adapter.urls(base)
        adapter.after_save(urls)  # what saving the integration registers with the platform
        saved = entry.save_urls(Console("", "", sim.base_url), urls)
        assert all(answer.get("ok") for answer in saved.values()), saved  # the platform's handshakes passed
        yield adapter, sim


def _recipient(adapter: Adapter, sim) -> str:
    """The first person of the simulated org, found the way linking finds people: by mobile."""
    mobile = next(iter(sim.directory.users.values())).mobile
    user_id = adapter.user_by_mobile(mobile)
    assert user_id, f"{adapter.name}: nobody found for {mobile}"
    return user_id


def test_every_registered_platform_has_a_simulator():
    assert all(entry_for(name).name == name for name in names())


def test_limits_are_positive_and_belong_to_the_integration(platform):
    adapter, sim = platform
    user = _recipient(adapter, sim)
    sent = adapter.send_card("user", user, cards.build(LARGEST, adapter.integration_id, {}), "contract-1")
    for operation, ref in (("send", None), ("update", sent)):
        windows = adapter.windows(operation, "user", user, ref)
        assert windows or operation == "update", f"{adapter.name}: no published limit to pace new cards by"
        for window in windows:
            assert window.limit > 0 and window.seconds > 0
            assert adapter.integration_id in window.key or user in window.key, window


def test_the_largest_card_fits_the_platform_sent_and_updated(platform):
    adapter, sim = platform
    user = _recipient(adapter, sim)
    card = cards.build(LARGEST, adapter.integration_id, {})
    ref = adapter.send_card("user", user, card, f"contract-{uuid.uuid4().hex[:8]}")
    assert ref, f"{adapter.name}: a sent card must leave a reference to update it by"
    resolved = cards.build({**LARGEST, "status": "resolved", "resolved_by": "张伟"}, adapter.integration_id, {})
    adapter.update_card(ref, resolved)  # the simulator refuses what the platform would (size, fields, codes)


def test_the_largest_incident_of_a_thousand_alerts_fits_the_platform_sent_silenced_and_updated(platform):
    adapter, sim = platform
    user = _recipient(adapter, sim)
    incident = with_alerts(LARGEST, alert_group(1000, ("磁盘已满 [disk](https://x) *full* " * 20)[:512], resolved=10))
    card = cards.build(incident, adapter.integration_id, {})
    ref = adapter.send_card("user", user, card, f"contract-{uuid.uuid4().hex[:8]}")
    silenced = {**incident, "silenced_until": "2099-01-01T00:00:00Z", "silence": {"id": "a" * 36}}
    adapter.update_card(ref, cards.build(silenced, adapter.integration_id, {}))  # 取消屏蔽 and the silence id too


@pytest.mark.parametrize("endpoint", list(Endpoint))
@pytest.mark.parametrize("body", [b"", b"{}", b"<xml><Encrypt>AAAA</Encrypt></xml>", random.Random(64).randbytes(64),
                                  b'{"encrypt": "' + b"A" * 43 + b'"}', b"[" * 100 + b"]" * 100])
def test_what_cannot_be_verified_is_refused_and_nothing_else_escapes(platform, endpoint, body):
    adapter, _ = platform
    for method, query in (("POST", {}), ("POST", {"timestamp": "1", "nonce": "n", "signature": "0" * 40,
                                                  "msg_signature": "0" * 40}), ("GET", {"echostr": "x" * 24})):
        request = InboundRequest(method=method, query=query, headers={"content-type": "application/json",
                                                                      "timestamp": "1", "sign": "AAAA"}, body=body)
        with pytest.raises(CallbackRejected):
            adapter.parse_callback(request, endpoint)


def test_every_refusal_the_platform_answers_maps_to_what_the_pipeline_does(platform):
    adapter, sim = platform
    user = _recipient(adapter, sim)
    card = cards.build(LARGEST, adapter.integration_id, {})
    expected = {**{kind: Retryable for kind in SERVER_ERRORS}, **{kind: RateLimited for kind in THROTTLES}}
    offered = [kind for kind in sim.faults.kinds if kind in expected]
    assert offered, f"{adapter.name}: its simulator plays no server error or throttle"
    for kind in offered:
        sim.inject("", kind)
        with pytest.raises(PlatformError) as raised:
            adapter.send_card("user", user, card, f"contract-{kind}")
        assert isinstance(raised.value, expected[kind]), (kind, raised.value)
    if "token_invalid" in sim.faults.kinds:  # refreshed once and retried once: the card still goes out
        sim.inject("", "token_invalid")
        assert adapter.send_card("user", user, card, "contract-token")
