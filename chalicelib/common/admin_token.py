"""The admin API's bearer token: a SecureString in SSM Parameter Store, read on first use and cached.

Deployed stages name the parameter in ``ADMIN_TOKEN_PARAMETER`` (``.chalice/config.json``), so the token
is never in the config or the Lambda's environment, and rotating it needs no redeploy: a container
re-reads it once its copy is ``LIFETIME`` seconds old, and sooner when a presented token does not match,
at most once every ``RECHECK`` seconds (so wrong tokens cannot drive SSM calls). Without a parameter name
``ADMIN_TOKEN`` itself is the token (the tests; ``make run`` stores its own in the emulated SSM).
"""
from __future__ import annotations

import hmac
import logging
import math
import threading
import time

from botocore.exceptions import ClientError

from chalicelib.common import aws
from chalicelib.common.config import settings
from chalicelib.common.errors import Unavailable

LIFETIME = 300  # seconds a read token is trusted before it is read again
RECHECK = 60  # at most one extra read a minute when a presented token does not match

log = logging.getLogger("dutybridge")
NOT_SET_UP = Unavailable("管理令牌未配置 (the admin token is not set up; see the logs)")

_lock = threading.Lock()
monotonic = time.monotonic  # lifetimes count real seconds, whatever the app's clock says (as common.warm)
_token: str | None = None
_read_at = -math.inf


def matches(given: str) -> bool:
    """Whether ``given`` is the admin token (constant-time). Raises Unavailable when none is set up."""
    if not settings().admin_token_parameter:
        return _equal(given, settings().admin_token)
    token = _current(max_age=LIFETIME)
    if not _equal(given, token):  # perhaps rotated since this container read it
        token = _current(max_age=RECHECK)
    if token is None:
        raise NOT_SET_UP
    return _equal(given, token)


def _equal(given: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


def _current(max_age: float) -> str | None:
    global _token, _read_at
    with _lock:
        if monotonic() - _read_at >= max_age:
            _token, _read_at = _read(settings().admin_token_parameter), monotonic()
        return _token


def _read(name: str) -> str | None:
    """The parameter's value, None when it does not exist (logged by name, never by value)."""
    try:
        return aws.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ParameterNotFound":
            raise  # SSM out of reach or access refused: the route answers 503 (routes.common.guarded)
        log.error("admin token parameter %s does not exist: run python -m infra.bootstrap", name)
        return None


def reset() -> None:
    """Forget the cached token (tests)."""
    global _token, _read_at
    with _lock:
        _token, _read_at = None, -math.inf
