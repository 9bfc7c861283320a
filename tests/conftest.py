"""Shared fixtures: fake AWS in-process (moto), the schema's resources, a Chalice test client."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1", "DUTYBRIDGE_PREFIX": "dutybridge-test", "ADMIN_TOKEN": "test-admin-token",
    "PUBLIC_BASE_URL": "https://duty.example.com",
}
os.environ.update(TEST_ENVIRONMENT)
os.environ.pop("AWS_ENDPOINT_URL", None)

from chalicelib.common import admin_token, aws, clock, config, sealing  # noqa: E402
from chalicelib.store import health as health_marks  # noqa: E402


def _reset_caches() -> None:
    config.reset()
    admin_token.reset()
    aws.reset()
    sealing.reset()
    clock.reset()
    health_marks.reset()


@pytest.fixture
def aws_env():
    """Moto-backed tables, queues and KMS key, built by the real bootstrap."""
    from moto import mock_aws

    from infra.bootstrap import bootstrap

    _reset_caches()
    with mock_aws():
        bootstrap("dutybridge-test")
        yield
    _reset_caches()


@pytest.fixture
def client(aws_env):
    from chalice.test import Client

    from app import app

    # chalice.test.Client swaps in the dev stage's environment on every request; read the
    # test settings first so they, not config.json's placeholders, are the cached ones.
    config.settings()
    with Client(app) as test_client:
        yield test_client


@pytest.fixture
def admin_headers():
    return {"Authorization": "Bearer test-admin-token", "Content-Type": "application/json"}


@pytest.fixture
def fake_platform(aws_env, monkeypatch):
    """Register the recording adapter as platform ``fake`` and store one integration of it."""
    from chalicelib.platforms import REGISTRY
    from tests.factories import stored_integration
    from tests.fakes import FakeAdapter

    FakeAdapter.reset()
    monkeypatch.setitem(REGISTRY, "fake", "tests.fakes:FakeAdapter")
    stored_integration()
    return FakeAdapter


def drain(logical: str) -> list[dict]:
    """Receive and delete everything waiting in a queue (delayed messages included, moto ignores delay)."""
    import json as _json
    sqs, url = aws.client("sqs"), aws.queue_url(logical)
    bodies = []
    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if not answer.get("Messages"):
            return bodies
        for message in answer["Messages"]:
            body = _json.loads(message["Body"]) if message["Body"].startswith("{") else message["Body"]
            bodies.append({"body": body, "attributes": message.get("MessageAttributes", {})})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def atomic_conditions(monkeypatch):
    """Make moto's conditional writes atomic across threads, as DynamoDB's are.

    moto checks a condition and applies the write without a lock, so two threads can both pass
    the same condition; real DynamoDB never lets that happen. Concurrency tests use this to test
    our logic, not moto's missing atomicity.
    """
    import threading

    from chalicelib.store import base

    lock, real = threading.Lock(), base.conditional

    def serialised(call, what, **kwargs):
        with lock:
            return real(call, what, **kwargs)

    for module in ("chalicelib.store.base", "chalicelib.store.ephemeral", "chalicelib.delivery.pacing",
                   "chalicelib.store.deliveries", "chalicelib.store.incidents"):
        monkeypatch.setattr(f"{module}.conditional", serialised)
