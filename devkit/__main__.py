"""``python -m devkit`` (what ``make run`` calls): start everything and print where it is."""
from __future__ import annotations

import logging
import os
import signal
import threading

from devkit import alertmanager
from devkit.runtime import Runtime
from devkit.schedules import Schedules
from devkit.simulators import SIMULATORS


def start_alertmanager() -> alertmanager.Alertmanager | None:
    """A real Alertmanager for the walkthrough's demo source, when Debian's package is installed:
    ``ALERTMANAGER_PORT``, else 9093 when free, else any free port."""
    if not alertmanager.installed():
        return None
    wanted = os.environ.get("ALERTMANAGER_PORT")
    default = alertmanager.DEFAULT_PORT if alertmanager.port_free(alertmanager.DEFAULT_PORT) else 0
    port = int(wanted) if wanted else default
    return alertmanager.Alertmanager(port=port).start()


def alertmanager_lines(running: alertmanager.Alertmanager | None) -> tuple[str, str]:
    """The banner's Alertmanager line and what the walkthrough command adds for it."""
    if running is None:
        return (f"not installed ({alertmanager.INSTALL_HINT}); make run then starts one", "")
    return (f"{running.url}/        (config {running.config_path}; the walkthrough wires it)",
            f" --alertmanager {running.url} --alertmanager-config {running.config_path}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    runtime = Runtime(port=int(os.environ.get("PORT", 8000)), aws_port=int(os.environ.get("EMBEDDED_AWS_PORT", 4566)),
                      simulator_port=int(os.environ.get("SIMULATOR_PORT", 8900))).start()
    from app import app
    Schedules(app, runtime.stop_event).start()
    running = start_alertmanager()
    alertmanager_line, walkthrough_args = alertmanager_lines(running)
    platforms = ", ".join(entry.title for entry in SIMULATORS.values())
    print(f"""
dutybridge is running (stage "local")
  API              {runtime.app_url}            (health: {runtime.app_url}/healthz)
  admin token      {runtime.admin_token}
  embedded AWS     {os.environ['AWS_ENDPOINT_URL']}
  simulators       {runtime.simulator_url}/        ({platforms}: clients, consoles, APIs)
  notifications    queue dutybridge-local-notifications
  Alertmanager     {alertmanager_line}

Set up every platform against the simulators and send a first incident:
  AWS_ENDPOINT_URL={os.environ['AWS_ENDPOINT_URL']} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
  AWS_DEFAULT_REGION=us-east-1 .venv/bin/python -m devkit.walkthrough --token {runtime.admin_token} \
    --app {runtime.app_url} --sim {runtime.simulator_url}{walkthrough_args}
Then open the simulator page and click the cards; the walkthrough ends with an Alertmanager source to try.
Ctrl-C stops everything.
""", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    runtime.stop()
    if running is not None:
        running.stop()


if __name__ == "__main__":
    main()
