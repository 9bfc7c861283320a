"""Redelivery (issue 16): failed deliveries tried again on request, and when the producer sends the incident
again; a card whose last update failed is brought up to date too."""
from __future__ import annotations

import json

from chalicelib.common.errors import Permanent
from chalicelib.flows import consumers as worker
from chalicelib.store import deliveries
from tests.factories import notification
from tests.unit.test_delivery_flow import _bound_alice, _run_deliveries

IP_REFUSED = Permanent("fake", "60020", "not allow to access from your ip")


def _failed_once(fake_platform) -> None:
    _bound_alice()
    fake_platform.fail_with = [IP_REFUSED]
    worker.handle_notification(json.dumps(notification()))
    _run_deliveries()
    (record,) = deliveries.of("inc-1")
    assert record["state"] == "failed" and "60020" in record["error"] and fake_platform.sent == []


def test_redeliver_tries_the_failed_deliveries_again(fake_platform, client, admin_headers):
    _failed_once(fake_platform)  # e.g. the IP allow-list is fixed after this
    answer = client.http.post("/incidents/inc-1/redeliver", headers=admin_headers)
    assert answer.status_code == 202
    assert answer.json_body == {"queued": [{"integration_id": "int_fake", "kind": "user", "target": "u-alice"}]}
    _run_deliveries()
    (record,) = deliveries.of("inc-1")
    assert record["state"] == "sent" and not record.get("error") and len(fake_platform.sent) == 1
    again = client.http.post("/incidents/inc-1/redeliver", headers=admin_headers)
    assert again.status_code == 202 and again.json_body == {"queued": []}  # nothing left to try


def test_a_card_whose_update_failed_is_updated_on_redelivery(fake_platform, client, admin_headers):
    _bound_alice()
    worker.handle_notification(json.dumps(notification()))
    _run_deliveries()
    fake_platform.fail_with = [IP_REFUSED]
    worker.handle_notification(json.dumps(notification(status="acknowledged")))
    _run_deliveries()
    (record,) = deliveries.of("inc-1")
    assert record["state"] == "sent" and "60020" in record["error"] and fake_platform.updated == []
    client.http.post("/incidents/inc-1/redeliver", headers=admin_headers)
    _run_deliveries()
    assert [card.status for _, card in fake_platform.updated] == ["acknowledged"]
    assert not deliveries.of("inc-1")[0].get("error")


def test_an_incident_sent_again_tries_its_failed_deliveries_again(fake_platform):
    _failed_once(fake_platform)
    worker.handle_notification(json.dumps(notification()))  # the same incident again, unchanged
    _run_deliveries()
    assert deliveries.of("inc-1")[0]["state"] == "sent" and len(fake_platform.sent) == 1


def test_redeliver_of_an_unknown_incident_is_404(client, admin_headers, aws_env):
    answer = client.http.post("/incidents/inc-nope/redeliver", headers=admin_headers)
    assert answer.status_code == 404 and answer.json_body["message"]
