"""POST /integrations/{id}/preview: the exact payload, its size against the limit, what was cut; nothing sent."""
from __future__ import annotations

import json

import pytest

from tests.fakes import FAKE_LINES, FakeAdapter

INCIDENT = {"id": "inc-preview", "title": "磁盘将满 Disk almost full", "severity": "warning",
            "labels": {f"label_{n:02d}": str(n) for n in range(30)} | {"service": "db"}}


@pytest.fixture
def api(client, admin_headers, fake_platform):
    def call(body: object, integration: str = "int_fake") -> tuple[int, dict]:
        response = client.http.post(f"/integrations/{integration}/preview", headers=admin_headers,
                                    body=json.dumps(body))
        return response.status_code, json.loads(response.body)

    return call


def test_the_preview_answers_the_payload_its_size_and_what_was_cut_and_sends_nothing(api):
    status, answer = api({"incident": INCIDENT})
    assert status == 200, answer
    assert answer["platform"] == "fake" and answer["to"] == "user"
    assert answer["size"] == {"value": len(json.dumps(answer["payload"]).encode()), "limit": 100_000,
                              "of": "bytes of the fake card"}
    assert answer["payload"]["facts"][0] == ["service", "db"]  # label_order: service first
    assert len(answer["cut"]["facts"]) == 31 - FAKE_LINES and answer["more"] == f"还有 {31 - FAKE_LINES} 项 · " \
                                                                                 f"+{31 - FAKE_LINES} more"
    assert answer["template_error"] is None and FakeAdapter.sent == []


def test_a_stored_incident_is_previewed_by_its_id(api, client, admin_headers):
    client.http.post("/incidents", headers=admin_headers, body=json.dumps({"version": 1, "incident": INCIDENT}))
    status, answer = api({"incident_id": "inc-preview", "to": "chat"})
    assert status == 200 and answer["to"] == "chat" and answer["payload"]["title"] == INCIDENT["title"]


@pytest.mark.parametrize(("body", "integration", "expected"), [
    ({"incident": INCIDENT}, "int_nope", 404),
    ({"incident_id": "inc-unknown"}, "int_fake", 404),
    ({}, "int_fake", 400),
    ({"incident": INCIDENT, "incident_id": "inc-preview"}, "int_fake", 400),
    ({"incident": INCIDENT, "report": {"id": "r", "kind": "dashboard", "title": "t"}}, "int_fake", 400),
    ({"report": {"id": "r", "kind": "pdf", "title": "t"}}, "int_fake", 400),
    ({"incident": {**INCIDENT, "severity": "apocalyptic"}}, "int_fake", 400),
    ({"incident": INCIDENT, "to": "everyone"}, "int_fake", 400),
])
def test_bad_previews_are_refused_clearly(api, body, integration, expected):
    status, answer = api(body, integration)
    assert status == expected and answer["message"], answer


def test_a_report_is_previewed_as_its_notice_card(api):
    report = {"id": "sales-daily", "kind": "dataset_sync", "status": "failed", "title": "订单同步 orders sync",
              "url": "https://datawind.example.com/dataset/7"}
    status, answer = api({"report": report})
    assert status == 200, answer
    payload = answer["payload"]
    assert (payload["title"], payload["severity"], payload["status_zh"]) == ("订单同步 orders sync", "warning", "失败")
    assert payload["notice"] and payload["buttons"] == [] and payload["url"] == report["url"]
    assert FakeAdapter.sent == []
