"""Liveness: answers once the app can reach its tables."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.common import lazy

aws = lazy.module("chalicelib.common.aws")
bp = Blueprint(__name__)


@bp.route("/healthz")
def healthz():
    try:
        aws.table("integrations").load()
    except aws.UNREACHABLE as exc:
        return Response({"ok": False, "error": type(exc).__name__}, status_code=503)
    return {"ok": True}
