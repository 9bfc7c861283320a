"""One local runtime (embedded AWS, app, pollers, simulators) on free ports for every e2e module."""
from __future__ import annotations

import os

import pytest

from chalicelib import aws, config, secrets
from devkit.runtime import Runtime
from devkit.walkthrough import Console


@pytest.fixture(scope="package")
def runtime():
    saved = dict(os.environ)
    started = Runtime(port=0, aws_port=0, simulator_port=0, admin_token="e2e-admin-token").start()
    yield started
    started.stop()
    os.environ.clear()
    os.environ.update(saved)
    for module in (config, aws, secrets):
        module.reset()


@pytest.fixture(scope="package")
def console(runtime) -> Console:
    return Console(runtime.app_url, runtime.admin_token, runtime.simulator_url)


def queue_url() -> str:
    return aws.client("sqs").get_queue_url(QueueName="dutybridge-local-notifications")["QueueUrl"]
