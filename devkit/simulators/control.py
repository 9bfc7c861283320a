"""Pieces every simulator's control surface (``/<platform>/_sim/...``) and page share.

Control routes are not platform APIs: they act for a person (admin console, user clicks) and answer
``{"ok": false, "error": ...}`` with a plain HTTP status when they cannot.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from devkit.simulators.http import Request, Response, Route, html_response, json_response

LOG_SIZE = 100
ASSETS = Path(__file__).resolve().parent
COMMON_JS = (ASSETS / "panel_common.js").read_text(encoding="utf-8")
LAYOUT = (ASSETS / "panel_layout.html").read_text(encoding="utf-8")
PROLOGUE = ('"use strict";\n  var root = document.getElementById("{scope}");\n'
            '  var base = root.getAttribute("data-base");')  # what a panel script starts with


class ControlError(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


def control_post(pattern: str, handler: Callable[[Request, dict[str, Any]], dict[str, Any]]) -> Route:
    """A JSON POST control route; a ControlError becomes its status and error."""
    def run(request: Request) -> Response:
        body = request.json()
        try:
            return json_response(200, handler(request, body if isinstance(body, dict) else {}))
        except ControlError as exc:
            return json_response(exc.status, {"ok": False, "error": exc.error})

    return Route("POST", pattern, run)


def fault_route(inject: Callable[[str, str, int, float], None]) -> Route:
    """``POST _sim/faults {path_suffix, kind, count?, seconds?}``: the simulator's ``inject`` over HTTP."""
    def add(_request: Request, body: dict[str, Any]) -> dict[str, Any]:
        try:
            inject(str(body.get("path_suffix") or ""), str(body.get("kind")), int(body.get("count", 1)),
                   float(body.get("seconds", 3.0)))
        except ValueError as exc:
            raise ControlError(400, str(exc)) from exc
        return {"ok": True}

    return control_post(r"/_sim/faults", add)


def permission_route(granted: set[str], lock: threading.RLock | threading.Lock) -> Route:
    """``POST _sim/console/permissions {scope, granted}``: the console's 权限管理, granting (default) or
    revoking one permission of the app."""
    def change(_request: Request, body: dict[str, Any]) -> dict[str, Any]:
        scope = str(body.get("scope") or "")
        if not scope:
            raise ControlError(400, "scope is required")
        with lock:
            (granted.add if body.get("granted", True) is not False else granted.discard)(scope)
            return {"ok": True, "permissions": sorted(granted)}

    return control_post(r"/_sim/console/permissions", change)


def panel_fragment(template: str, scope: str, base_path: str, side_extra: str = "") -> str:
    """A platform's panel (root element id ``scope``) with the shared layout and helpers, talking to
    ``base_path/_sim``. A script may start with ``/*__PROLOGUE__*/`` for its ``root`` and ``base``."""
    layout = LAYOUT.replace("__SIDE_EXTRA__", side_extra).replace("__ID__", f"#{scope}")
    return (template.replace("__LAYOUT__", layout).replace("/*__PROLOGUE__*/", PROLOGUE.format(scope=scope))
            .replace("/*__COMMON_JS__*/", COMMON_JS).replace("__BASE__", base_path))


def page_routes(title: str, panel: str, state: Callable[[], dict[str, Any]]) -> list[Route]:
    """``GET /`` (the panel as a standalone page) and ``GET /_sim/state``."""
    page = ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{title}</title></head><body style=\"margin:0\">{panel}</body></html>")
    return [Route("GET", r"/?", lambda r: html_response(page)),
            Route("GET", r"/_sim/state", lambda r: json_response(200, state()))]


class Journal:
    """The last calls a simulator made to the app (deliveries) and the API calls it refused."""

    def __init__(self) -> None:
        self.deliveries: list[dict[str, Any]] = []
        self.rejections: list[dict[str, Any]] = []

    def log(self, kind: str, entry: dict[str, Any]) -> None:
        target = self.deliveries if kind == "delivery" else self.rejections
        target.append(entry)
        del target[:-LOG_SIZE]
