"""Sources: the admin API that manages them (bearer auth) and the push route producers call (the key)."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.common import lazy
from chalicelib.common.config import settings
from chalicelib.routes.common import admin, guarded, parse, raw_body

sources = lazy.module("chalicelib.flows.sources")
bp = Blueprint(__name__)


@admin(bp, "/sources", ("POST",))
def create_source():
    return Response(sources.create(parse(bp, sources.SourceIn)), status_code=201)


@admin(bp, "/sources")
def list_sources():
    return sources.all_views()


@admin(bp, "/sources/{source_id}")
def get_source(source_id: str):
    return sources.view(sources.get(source_id))


@admin(bp, "/sources/{source_id}", ("PATCH",))
def patch_source(source_id: str):
    return sources.update(source_id, parse(bp, sources.SourcePatch))


@admin(bp, "/sources/{source_id}", ("DELETE",))
def delete_source(source_id: str):
    sources.delete(source_id)
    return Response(body="", status_code=204)


@bp.route("/push/{source_id}", methods=["POST"], content_types=["application/json"])
@guarded
def push(source_id: str):
    """What Alertmanager's webhook_configs url or a Grafana webhook contact point points at: the key in the
    query (the push_url carries it) or as ``Authorization: Bearer <key>``. The kind's parser bounds the
    nesting (chalicelib/sources/base.py)."""
    request = bp.current_request
    scheme, _, bearer = (request.headers.get("authorization") or "").partition(" ")
    key = (request.query_params or {}).get("key") or (bearer.strip() if scheme.lower() == "bearer" else "")
    return Response(sources.accept_push(source_id, key, raw_body(bp, settings().max_push_bytes)), status_code=202)
