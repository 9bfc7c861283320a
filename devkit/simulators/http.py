"""A tiny stdlib HTTP layer shared by the platform simulators.

The simulators stand in for DingTalk, Feishu and WeCom in local runs and end-to-end tests. They only
need routing by method + path regex, JSON in/out and a threaded server that tests can bind to port 0,
so this stays on ``http.server`` instead of pulling in a web framework.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

log = logging.getLogger(__name__)

ANY = "*"
_answer = threading.local()  # how the request this thread serves is to be answered (fault play)


def delay_answer(seconds: float) -> None:
    """Hold the answer to the request this thread is serving for ``seconds`` once it is ready."""
    _answer.delay = seconds


def drop_answer() -> None:
    """Close the connection of the request this thread is serving without any answer."""
    _answer.drop = True


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups of the route regex, unquoted
    client: str = ""  # the caller's IP address (platforms that allow-list callers check it)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def cookie(self, name: str) -> str | None:
        pairs = (part.strip().split("=", 1) for part in (self.header("cookie") or "").split(";") if "=" in part)
        return dict(pairs).get(name)

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON (callers decide the error)."""
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or {} for anything else (the API's own validation reports it)."""
        body = self.json()
        return body if isinstance(body, dict) else {}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str  # "GET", "POST", ... or ANY
    pattern: str  # regex matched against the whole path
    handler: Handler


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, body, {"Content-Type": "application/json;charset=utf-8", **(headers or {})})


def text_response(status: int, text: str, content_type: str = "text/plain;charset=utf-8") -> Response:
    return Response(status, text.encode("utf-8"), {"Content-Type": content_type})


def html_response(html: str) -> Response:
    return text_response(200, html, "text/html;charset=utf-8")


def with_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` appended to its query string."""
    return url + ("&" if "?" in url else "?") + urlencode(params)


class Router:
    """Method + path-regex dispatch; routes are tried in the order they were added."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def mount(self, prefix: str, routes: Iterable[Route]) -> None:
        """Add routes under a path prefix such as ``/dingtalk``."""
        for route in routes:
            self.add(route.method, re.escape(prefix.rstrip("/")) + route.pattern, route.handler)

    def dispatch(self, request: Request) -> Response:
        path_matched = False
        for method, regex, handler in self._routes:
            match = regex.fullmatch(request.path)
            if not match:
                continue
            path_matched = True
            if method in (ANY, request.method):
                request.params = {k: unquote(v) for k, v in match.groupdict().items()}
                return handler(request)
        if path_matched:
            return json_response(405, {"error": "method not allowed"})
        return json_response(404, {"error": "not found", "path": request.path})


CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "*",
}


def _handler_class(router: Router) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=split.path,
                query={k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
                client=self.client_address[0],
            )
            _answer.__dict__.clear()
            try:
                response = router.dispatch(request)
            except Exception as exc:  # a simulator bug must show up as a 500, not a hung socket
                log.exception("simulator handler failed")
                response = json_response(500, {"error": "simulator error", "detail": repr(exc)})
            if getattr(_answer, "drop", False):
                self.close_connection = True  # the caller sees the connection close with no answer
                return
            time.sleep(getattr(_answer, "delay", 0.0))
            self._write(response)

        def _write(self, response: Response) -> None:
            try:
                self.send_response(response.status)
                for name, value in {**CORS_HEADERS, **response.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):  # the caller gave up (timeout faults do this)
                log.debug("client went away before the answer")

        def do_OPTIONS(self) -> None:  # CORS preflight from an H5 page on another port
            self._write(Response(204))

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

    return _Handler


def serve(router: Router, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Start serving in a daemon thread; with port 0 the OS picks one (``server.server_port``).

    Stop with ``server.shutdown()`` then ``server.server_close()``.
    """
    server = ThreadingHTTPServer((host, port), _handler_class(router))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"sim-http-{server.server_port}", daemon=True)
    thread.start()
    return server, thread
