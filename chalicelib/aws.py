"""Lazily built, resettable boto3 clients (never at import time, so moto can patch them)."""
from __future__ import annotations

import functools
import os

import boto3
from botocore.config import Config

from chalicelib.config import settings

_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=3, read_timeout=10)


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@functools.lru_cache(maxsize=None)
def client(service: str):
    """A shared boto3 client; ``AWS_ENDPOINT_URL`` (honoured by boto3) points it at an emulator."""
    return boto3.session.Session().client(service, region_name=_region(), config=_CONFIG)


@functools.lru_cache(maxsize=None)
def table(logical: str):
    resource = boto3.session.Session().resource("dynamodb", region_name=_region(), config=_CONFIG)
    return resource.Table(settings().name(logical))


@functools.lru_cache(maxsize=None)
def queue_url(logical: str) -> str:
    return client("sqs").get_queue_url(QueueName=settings().name(logical))["QueueUrl"]


def reset() -> None:
    """Drop every cached client (tests switch between moto contexts)."""
    for cached in (client, table, queue_url):
        cached.cache_clear()
