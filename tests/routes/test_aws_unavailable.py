"""When DynamoDB cannot be reached, every kind of route answers 503 "try again" (never a 500, never the
exception's text): the admin API, a platform callback (platforms redeliver on a 5xx) and a web page."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib.store import integrations as integration_store


@pytest.fixture
def unreachable(client, monkeypatch):

    def fail(*args, **kwargs):
        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")
    monkeypatch.setattr(integration_store, "get", fail)
    return client


def test_the_admin_api_answers_503(unreachable, admin_headers):
    answer = unreachable.http.get("/integrations/int_fake", headers=admin_headers)
    assert answer.status_code == 503
    assert answer.json_body["error"] == "unavailable" and "dynamodb" not in answer.body.decode().lower()


def test_a_platform_callback_answers_503(unreachable):
    answer = unreachable.http.post("/callbacks/int_fake/card", headers={"Content-Type": "application/json"},
                                   body=json.dumps({}))
    assert answer.status_code == 503 and answer.json_body["error"] == "unavailable"


def test_a_web_page_answers_503(unreachable):
    answer = unreachable.http.get("/app/int_fake")
    assert answer.status_code == 503 and "dynamodb" not in answer.body.decode().lower()
