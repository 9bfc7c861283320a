"""A real Prometheus Alertmanager on this machine (Debian's ``prometheus-alertmanager`` 0.25), wired to a
source's push_url: ``make run`` starts one for the walkthrough, the end-to-end tests drive one.

How it is started and what its webhook sends was verified against 0.25.0: tests/fixtures/sources/README.md.
Clustering is off (``--cluster.listen-address=``), so one instance needs one port and a temp directory.
"""
from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import requests

BINARY = "prometheus-alertmanager"
INSTALL_HINT = "apt-get install prometheus-alertmanager (Debian/Ubuntu; make test does this when run as root)"
DEFAULT_PORT = 9093
RECEIVER = "dutybridge"
GROUP_BY = ("alertname", "cluster")


def installed() -> bool:
    return shutil.which(BINARY) is not None


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) != 0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Timing:
    """The route's timers: the demo's are short enough to watch a card arrive, the tests' shorter still."""
    group_wait: str = "2s"
    group_interval: str = "5s"
    repeat_interval: str = "4h"


def receiver_snippet(push_url: str) -> str:
    """The receiver a user pastes into alertmanager.yml (README "Alertmanager in three steps")."""
    quoted = push_url.replace("'", "''")  # a single-quoted YAML scalar doubles its quotes
    return (f"receivers:\n  - name: {RECEIVER}\n    webhook_configs:\n      - url: '{quoted}'\n"
            f"        send_resolved: true\n")


def config_text(push_url: str | None, timing: Timing = Timing()) -> str:
    """A whole alertmanager.yml: every group goes to the push_url (a receiver that sends nothing until there
    is one)."""
    group_by = ", ".join(f"'{label}'" for label in GROUP_BY)
    route = (f"route:\n  receiver: {RECEIVER}\n  group_by: [{group_by}]\n  group_wait: {timing.group_wait}\n"
             f"  group_interval: {timing.group_interval}\n  repeat_interval: {timing.repeat_interval}\n")
    return route + (receiver_snippet(push_url) if push_url else f"receivers:\n  - name: {RECEIVER}\n")


def rewire(url: str, config_path: str | Path, push_url: str, timing: Timing = Timing()) -> None:
    """Point a running Alertmanager at ``push_url``: write its config and have it reload (``POST /-/reload``
    answers 500 with the reason when the new file is refused)."""
    Path(config_path).write_text(config_text(push_url, timing), encoding="utf-8")
    response = requests.post(f"{url.rstrip('/')}/-/reload", timeout=10)
    if response.status_code != 200:
        raise RuntimeError(f"Alertmanager refused the new configuration: {response.status_code} {response.text}")


def amtool_add_line(url: str) -> str:
    return (f"amtool --alertmanager.url={url} alert add alertname=DiskFull severity=critical instance=db-1 "
            "cluster=prod --annotation=summary='磁盘将满 Disk almost full on db-1'")


_PRCTL = getattr(ctypes.CDLL(None), "prctl", None) if sys.platform == "linux" else None  # resolved before fork


def _die_with_parent() -> None:
    """Runs in the child before exec: Linux sends it SIGTERM when its parent dies, so a killed ``make run``
    or test run leaves no Alertmanager behind."""
    _PRCTL(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


@dataclass
class Alertmanager:
    """One Alertmanager process with its own config file and storage in a temp directory."""
    port: int = 0
    host: str = "127.0.0.1"
    timing: Timing = field(default_factory=Timing)

    def start(self, push_url: str | None = None, timeout: float = 15.0) -> "Alertmanager":
        self.port = self.port or free_port(self.host)
        self.workdir = Path(tempfile.mkdtemp(prefix="dutybridge-alertmanager-"))
        self.config_path.write_text(config_text(push_url, self.timing), encoding="utf-8")
        self.log = open(self.workdir / "alertmanager.log", "wb")
        self.process = subprocess.Popen(
            [BINARY, f"--config.file={self.config_path}", f"--storage.path={self.workdir / 'data'}",
             f"--web.listen-address={self.host}:{self.port}", "--cluster.listen-address=",
             f"--web.external-url={self.url}"],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent if _PRCTL else None)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        log = self.log_text()[-2000:]
        self.stop()
        raise RuntimeError(f"Alertmanager did not become ready on {self.url}: {log}")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.workdir / "alertmanager.yml"

    def log_text(self) -> str:
        return (self.workdir / "alertmanager.log").read_text(encoding="utf-8", errors="replace")

    def rewire(self, push_url: str) -> None:
        rewire(self.url, self.config_path, push_url, self.timing)

    def post_alerts(self, alerts: list[dict]) -> None:
        """``POST /api/v2/alerts``: each alert ``{"labels", "annotations"?, "startsAt"?, "endsAt"?}``; an
        ``endsAt`` of now resolves it."""
        response = requests.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10)
        response.raise_for_status()

    def silences(self) -> list[dict]:
        """``GET /api/v2/silences``: every silence, of every state."""
        response = requests.get(f"{self.url}/api/v2/silences", timeout=10)
        response.raise_for_status()
        return response.json()

    def notifications_sent(self) -> int:
        """How many webhook notifications it has delivered (first, changed, resolved and repeated alike):
        attempted minus failed, from its own metrics."""
        metrics = requests.get(f"{self.url}/metrics", timeout=10).text.splitlines()

        def counter(name: str) -> int:
            line = f'alertmanager_{name}{{integration="webhook"}} '
            return next((int(float(row[len(line):])) for row in metrics if row.startswith(line)), 0)
        return counter("notifications_total") - counter("notifications_failed_total")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def now_iso() -> str:
    """The time to post as ``endsAt`` to resolve an alert (RFC 3339, as the API takes it)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
