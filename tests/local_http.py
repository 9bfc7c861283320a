"""Small HTTP servers on 127.0.0.1 for tests: serve a handler class, or a table of canned answers."""
from __future__ import annotations

import ssl
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

# path (without its query) → (status, headers, body); a callable body writes itself (no Content-Length is set)
Answers = dict[str, tuple[int, dict[str, str], "bytes | Callable"]]


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """``handler`` served on a free port for the ``with`` block (over TLS with ``tls``); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def answering(answers: Answers, tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, list[dict]]]:
    """GETs answered from ``answers`` (404 otherwise); yields the base URL and what was asked (path, Host)."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"path": self.path, "host": self.headers.get("Host")})
            status, headers, body = answers.get(self.path.split("?")[0], (404, {}, b""))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if not callable(body):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                body(self.wfile) if callable(body) else self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up first (a refusal on the Content-Length)

        def log_message(self, *args) -> None:
            pass

    with serving(Handler, tls) as base:
        yield base, seen
