"""What every platform simulator object shares: its lock, faults, journal, and serving itself alone."""
from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any, Callable, Iterator

from devkit.simulators.control import Journal
from devkit.simulators.faults import FaultMix, Faults
from devkit.simulators.http import Route, Router, delay_answer, drop_answer, serve


class PlatformSimulator:
    """Subclasses set ``mount_path`` (``/dingtalk``, ``/feishu``) and ``panel``, and build their ``routes()``."""

    mount_path = ""
    panel: Callable[[str], str]  # the panel fragment for a mount path

    def __init__(self, fault_kinds: tuple[str, ...]) -> None:
        self.lock = threading.RLock()
        self.faults = Faults(fault_kinds)
        self.journal = Journal()
        self.calls: Counter[str] = Counter()  # API calls by "METHOD path", refused ones included
        self.base_url = ""

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def mounted(self, suffix: str = "") -> str:
        """An absolute URL under this simulator's mount (valid once served)."""
        return f"{self.base_url}{self.mount_path}{suffix}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
        """Serve this simulator alone (tests); the combined dev server mounts ``routes()`` itself."""
        router = Router()
        router.mount(self.mount_path, self.routes())
        server, thread = serve(router, host, port)
        self.base_url = f"http://{host}:{server.server_port}"
        return server, thread

    @contextmanager
    def serving(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[None]:
        """Serve this simulator alone for the length of a ``with`` block."""
        server, _ = self.start(host, port)
        try:
            yield
        finally:
            server.shutdown()
            server.server_close()

    def inject(self, path_suffix: str, kind: str, count: int = 1, seconds: float = 3.0) -> None:
        """Make the next ``count`` calls whose path ends with ``path_suffix`` fail as ``kind``."""
        with self.lock:
            self.faults.inject(path_suffix, kind, count, seconds)

    def mix_faults(self, mix: FaultMix | None) -> None:
        """Let ``mix`` pick faults for API calls no targeted fault is waiting for (None stops it)."""
        with self.lock:
            self.faults.mix = mix

    def admit(self, api: str, path: str, fault_error: Callable[[str], Exception]) -> None:
        """Count an API call and play any fault injected or mixed for it: a timeout sleeps, an answer fault
        lets the call be applied and then holds or drops its answer, the platform's kinds raise."""
        with self.lock:
            self.calls[api] += 1
            fault = self.faults.take(path)
        if fault is None:
            return
        if fault.kind == "timeout":
            time.sleep(fault.seconds)
        elif fault.kind == "dropped":
            drop_answer()
        elif fault.kind in ("slow", "lost"):
            delay_answer(fault.seconds)
        else:
            raise fault_error(fault.kind)

    def log(self, kind: str, entry: dict[str, Any]) -> None:
        """Record a delivery (a call to the app) or a rejection (a refused API call)."""
        with self.lock:
            self.journal.log(kind, entry)

    def call_count(self, path_suffix: str) -> int:
        with self.lock:
            return sum(n for api, n in self.calls.items() if api.endswith(path_suffix))

    def panel_html(self) -> str:
        """The page fragment the combined dev page at ``/`` embeds."""
        return self.panel(self.mount_path)
