"""What every route shares: admin auth, body limits, error translation, neutral requests."""
from __future__ import annotations

import functools
import json
import logging
from typing import Callable, TypeVar

from chalice import Blueprint, Response
from pydantic import BaseModel, ValidationError

from chalicelib.common import lazy
from chalicelib.common.config import settings
from chalicelib.common.errors import (
    AppError,
    CallbackRejected,
    InvalidInput,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    readable,
)
from chalicelib.common.json_input import MAX_DEPTH, too_deep

admin_token = lazy.module("chalicelib.common.admin_token")
aws = lazy.module("chalicelib.common.aws")
callback = lazy.module("chalicelib.core.callback")
log = logging.getLogger("dutybridge")
Model = TypeVar("Model", bound=BaseModel)
UNAVAILABLE = Unavailable("暂时无法处理，请稍后重试 (temporarily unavailable, try again)")


def error_response(exc: AppError) -> Response:
    body = {"error": exc.code, "message": exc.message}
    body.update({k: v for k, v in exc.details.items() if isinstance(v, (str, int))})
    return Response(body=body, status_code=exc.status, headers={"Content-Type": "application/json"})


def guarded(view: Callable) -> Callable:
    """Turn project errors into clear 4xx answers; nothing a caller sends produces a 500. AWS out of reach
    is a 503 that says only that (the exception's name is logged, never answered)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except AppError as exc:
            if exc.status >= 500 or exc.code == "callback_rejected":
                log.warning("refused %s: %s", view.__name__, exc.message)
            return error_response(exc)
        except aws.UNREACHABLE as exc:
            log.error("%s: AWS unavailable (%s)", view.__name__, type(exc).__name__)
            return error_response(UNAVAILABLE)
    return wrapper


REFUSED = {"error": "callback_rejected", "message": "refused"}


def sealed(view: Callable) -> Callable:
    """A platform callback's answer to anything it cannot accept: one status and one text, whatever the
    reason (bad signature, padding, JSON, unknown integration), so no answer tells an attacker which
    check failed. The reason is logged."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except CallbackRejected as exc:
            log.warning("refused %s: %s", view.__name__, exc.message)
            return Response(body=REFUSED, status_code=exc.status, headers={"Content-Type": "application/json"})
    return guarded(wrapper)


def admin(bp: Blueprint, path: str, methods: tuple[str, ...] = ("GET",)) -> Callable:
    """Register an admin route: the bearer admin token (chalicelib.common.admin_token) compared in
    constant time, errors translated."""
    def register(view: Callable) -> Callable:
        @functools.wraps(view)
        def checked(*args, **kwargs):
            scheme, _, given = (bp.current_request.headers.get("authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not admin_token.matches(given.strip()):
                raise Unauthorized("missing or wrong bearer token")
            return view(*args, **kwargs)
        return bp.route(path, methods=list(methods), content_types=["application/json"])(guarded(checked))
    return register


def raw_body(bp: Blueprint, limit: int) -> bytes:
    body = bp.current_request.raw_body or b""
    if len(body) > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    return body


def parse(bp: Blueprint, model: type[Model]) -> Model:
    """Validate the JSON body against ``model``; errors name the fields, not the values."""
    body = raw_body(bp, settings().max_admin_bytes)
    if too_deep(body):
        raise InvalidInput(f"body nests deeper than {MAX_DEPTH} levels")
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise InvalidInput("body is not valid JSON") from exc
        raise InvalidInput(readable(exc)) from exc


def inbound(bp: Blueprint) -> callback.InboundRequest:
    request = bp.current_request
    return callback.InboundRequest(method=request.method, query=dict(request.query_params or {}),
                          headers={k.lower(): v for k, v in request.headers.items()},
                          body=raw_body(bp, settings().max_callback_bytes))


def reply(answer: callback.Reply) -> Response:
    body = json.dumps(answer.body, ensure_ascii=False) if answer.content_type == "application/json" else answer.body
    return Response(body=body, status_code=answer.status, headers={"Content-Type": answer.content_type})
