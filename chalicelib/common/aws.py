"""Lazily built, resettable boto3 clients (never at import time, so moto can patch them)."""
from __future__ import annotations

import functools
import os
import threading

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.common import warm
from chalicelib.common.config import settings

_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=3, read_timeout=10)

UNREACHABLE = (BotoCoreError, ClientError)  # what a call raises when AWS cannot be reached or refuses


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@functools.lru_cache(maxsize=None)
def client(service: str):
    """A shared boto3 client; ``AWS_ENDPOINT_URL`` (honoured by boto3) points it at an emulator."""
    return boto3.session.Session().client(service, region_name=_region(), config=_CONFIG)


_local = threading.local()
_session_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def table(logical: str):
    """A DynamoDB Table for this thread. boto3 resources, unlike clients, are not thread-safe
    (Lambda runs one thread; the local runtime serves each request on a new one), so each thread
    gets its own, built from one shared session so the service model is loaded only once."""
    tables = _local.__dict__.setdefault("tables", {})
    name = settings().name(logical)
    if name not in tables:
        with _session_lock:
            tables[name] = _session().resource("dynamodb", region_name=_region(), config=_CONFIG).Table(name)
    return tables[name]


@functools.lru_cache(maxsize=None)
def queue_url(logical: str) -> str:
    return client("sqs").get_queue_url(QueueName=settings().name(logical))["QueueUrl"]


def reset() -> None:
    """Drop every cached client and record (tests switch between moto contexts)."""
    for cached in (client, queue_url, _session):
        cached.cache_clear()
    warm.reset()
    global _local
    _local = threading.local()
