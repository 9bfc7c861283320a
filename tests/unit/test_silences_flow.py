"""屏蔽 and 取消屏蔽 on an incident from a source: the silence is made (or expired) in the producer first.

Grafana is not packaged here: the stand-in below answers as grafana/grafana's silence handlers do
(pkg/services/ngalert/api/api_alertmanager_silences.go, see tests/fixtures/sources/README.md): 202
{"silenceID"} on create, 200 {"message": "silence deleted"} on delete, 404 for an unknown id, 401
without the service account's token. Alertmanager itself is exercised for real in tests/e2e.
"""
from __future__ import annotations

import json
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chalicelib.common import clock
from chalicelib.common.errors import Conflict
from chalicelib.core import cards, incidents
from chalicelib.core.callback import Click, Intent
from chalicelib.core.models import Action
from chalicelib.flows import actions, silences, sources
from chalicelib.sources import kind
from chalicelib.sources.silences import SilenceFailed
from chalicelib.store import people
from tests.factories import member

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources"
TOKEN = "glsa_service_account_token_0123456789"


class GrafanaSilences(BaseHTTPRequestHandler):
    silences: dict[str, dict] = {}
    requests: list[tuple[str, str, dict]] = []
    active: list[dict] = []  # what GET …/api/v2/alerts lists (resolved alerts are never listed)

    def _answer(self, status: int, body: dict | None) -> None:
        raw = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._answer(401, {"message": "Unauthorized"})
            return False
        return True

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(("POST", self.path, body))
        if not self._authorised():
            return
        assert self.path == "/api/alertmanager/grafana/api/v2/silences"
        silence_id = body.get("id") or str(uuid.uuid4())
        if body.get("id") and body["id"] not in self.silences:
            self._answer(404, {"message": "silence not found"})
            return
        self.silences[silence_id] = {**body, "state": "active"}
        self._answer(202, {"silenceID": silence_id})

    def do_GET(self) -> None:  # noqa: N802
        self.requests.append(("GET", self.path, {}))
        if self._authorised():
            assert self.path.startswith("/api/alertmanager/grafana/api/v2/alerts?filter=")
            self._answer(200, self.active)

    def do_DELETE(self) -> None:  # noqa: N802
        self.requests.append(("DELETE", self.path, {}))
        if not self._authorised():
            return
        silence_id = self.path.rsplit("/", 1)[1]
        if silence_id not in self.silences:
            self._answer(404, {"message": "silence not found"})
            return
        self.silences[silence_id]["state"] = "expired"
        self._answer(200, {"message": "silence deleted"})

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def grafana():
    GrafanaSilences.silences, GrafanaSilences.requests, GrafanaSilences.active = {}, [], [{"labels": {}}]
    server = ThreadingHTTPServer(("127.0.0.1", 0), GrafanaSilences)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def grafana_incident(settings: dict) -> dict:
    member("alice")
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    created = sources.create(sources.SourceIn(kind="grafana", name="grafana", settings=settings))
    group = kind("grafana").parse((FIXTURES / "grafana" / "firing.json").read_bytes())
    accepted = sources.apply_push(sources.QueuedPush(source_id=created["id"], received_at=clock.now(), group=group))
    return accepted.incident


def test_silence_creates_a_grafana_silence_on_the_group_labels_and_unsilence_expires_it(fake_platform, grafana):
    incident = grafana_incident({"grafana_url": grafana, "grafana_token": TOKEN})
    silenced = actions.take_as(incident["id"], Action.silence, "alice", "api", 120, )
    method, path, body = GrafanaSilences.requests[0]
    assert {m["name"]: m["value"] for m in body["matchers"]} == {"alertname": "API 5xx rate high",
                                                               "grafana_folder": "Payments"}
    assert all(m["isRegex"] is False and m["isEqual"] is True for m in body["matchers"])
    assert body["createdBy"] == "Alice" and incident["id"] in body["comment"]
    silence_id = silenced["silence"]["id"]
    assert GrafanaSilences.silences[silence_id]["state"] == "active"
    assert cards.build(silenced, "int_fake").silence_id == silence_id
    assert [b.action for b in cards.build(silenced, "int_fake").buttons][-1] is Action.unsilence

    unsilenced = actions.take_as(incident["id"], Action.unsilence, "alice", "api")
    assert GrafanaSilences.silences[silence_id]["state"] == "expired"
    assert not incidents.is_silenced(unsilenced) and "silence" not in unsilenced


def test_a_second_silence_prolongs_the_same_one(fake_platform, grafana):
    incident = grafana_incident({"grafana_url": grafana, "grafana_token": TOKEN})
    first = actions.take_as(incident["id"], Action.silence, "alice", "api", 120)["silence"]["id"]
    second = actions.take_as(incident["id"], Action.silence, "alice", "api", 1440)["silence"]["id"]
    assert first == second and GrafanaSilences.requests[1][2]["id"] == first


def test_an_unreachable_producer_silences_nothing_and_says_so(fake_platform):
    incident = grafana_incident({"grafana_url": closed_port(), "grafana_token": TOKEN})
    with pytest.raises(SilenceFailed) as refused:
        actions.take_as(incident["id"], Action.silence, "alice", "api", 120)
    assert "无法连接 Grafana" in refused.value.message and TOKEN not in refused.value.message
    after = incidents.get(incident["id"])
    assert not incidents.is_silenced(after)
    assert after["timeline"][-1]["action"] == "silence_failed"


def test_a_refusal_is_said_with_the_status_never_the_token(fake_platform, grafana):
    incident = grafana_incident({"grafana_url": grafana, "grafana_token": "wrong-token-value"})
    with pytest.raises(SilenceFailed) as refused:
        actions.take_as(incident["id"], Action.silence, "alice", "api", 120)
    assert "HTTP 401" in refused.value.message and "wrong-token" not in refused.value.message
    assert not incidents.is_silenced(incidents.get(incident["id"]))


def test_a_resolved_incident_is_refused_before_the_producer_is_asked(fake_platform, grafana):
    incident = grafana_incident({"grafana_url": grafana, "grafana_token": TOKEN})
    actions.take_as(incident["id"], Action.resolve, "alice", "api")
    with pytest.raises(Conflict):
        actions.take_as(incident["id"], Action.silence, "alice", "api", 120)
    assert GrafanaSilences.requests == []


def test_without_a_silence_api_the_silence_stays_in_dutybridge(fake_platform):
    incident = grafana_incident({})
    silenced = actions.take_as(incident["id"], Action.silence, "alice", "api", 120)
    assert incidents.is_silenced(silenced) and "silence" not in silenced
    assert not incidents.is_silenced(actions.take_as(incident["id"], Action.unsilence, "alice", "api"))


def test_unsilence_of_an_incident_not_silenced_is_refused(fake_platform):
    incident = grafana_incident({})
    with pytest.raises(Conflict):
        actions.take_as(incident["id"], Action.unsilence, "alice", "api")


def test_a_click_on_an_unreachable_producer_answers_why_and_shows_the_card_unchanged(fake_platform):
    incident = grafana_incident({"grafana_url": closed_port(), "grafana_token": TOKEN})
    outcome = actions.from_click("int_fake", "fake", Click(user_id="u-alice", incident_id=incident["id"],
                                                           intent=Intent.silence, minutes=120))
    assert not outcome.ok and "无法连接 Grafana" in outcome.message
    assert outcome.card is not None and outcome.card.silenced_until == ""
    assert [b.action for b in outcome.card.buttons][-1] is Action.silence


def test_a_group_that_resolves_while_silenced_is_found_resolved(fake_platform, grafana):
    incident = grafana_incident({"grafana_url": grafana, "grafana_token": TOKEN})
    actions.take_as(incident["id"], Action.silence, "alice", "api", 120)
    assert silences.settle_watched() == []  # still listed: still firing
    GrafanaSilences.active = []  # resolved while silenced: no push will ever say so
    [resolved] = silences.settle_watched()
    assert resolved["id"] == incident["id"] and resolved["status"] == "resolved"
    assert resolved["timeline"][-1]["action"] == "resolved" and "Grafana" in resolved["timeline"][-1]["note"]
    assert silences.settle_watched() == []  # no longer watched


def test_unsilence_asks_at_once_whether_the_alerts_are_still_there(fake_platform, grafana):
    incident = grafana_incident({"grafana_url": grafana, "grafana_token": TOKEN})
    actions.take_as(incident["id"], Action.silence, "alice", "api", 120)
    GrafanaSilences.active = []
    after = actions.take_as(incident["id"], Action.unsilence, "alice", "api")
    assert after["status"] == "resolved" and [e["action"] for e in after["timeline"][-2:]] == ["unsilence", "resolved"]
