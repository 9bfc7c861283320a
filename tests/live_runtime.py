"""The whole local system (embedded AWS, app, pollers, simulators) on free ports, for tests that drive it live.

tests/e2e and tests/browser each import these fixtures into their conftest and so start one runtime
per package; both run in one pytest process, so each is stopped and the process environment and
caches restored after its package.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import pytest

from chalicelib.common import admin_token, aws, config, sealing
from devkit.console import Console
from devkit.runtime import Runtime

ADMIN_TOKEN = "live-admin-token"


@contextmanager
def live_runtime() -> Iterator[Runtime]:
    saved = dict(os.environ)
    started = Runtime(port=0, aws_port=0, simulator_port=0, admin_token=ADMIN_TOKEN).start()
    try:
        yield started
    finally:
        started.stop()
        os.environ.clear()
        os.environ.update(saved)
        for module in (config, aws, sealing, admin_token):
            module.reset()


@pytest.fixture(scope="package")
def runtime() -> Iterator[Runtime]:
    with live_runtime() as started:
        yield started


@pytest.fixture(scope="package")
def console(runtime: Runtime) -> Console:
    return Console(runtime.app_url, runtime.admin_token, runtime.simulator_url)


def queue_url() -> str:
    """The notifications queue producers send to."""
    return aws.client("sqs").get_queue_url(QueueName="dutybridge-local-notifications")["QueueUrl"]
