"""``python -m devkit`` (what ``make run`` calls): start everything and print where it is."""
from __future__ import annotations

import logging
import os
import signal
import threading

from devkit.runtime import Runtime
from devkit.simulators import SIMULATORS


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    runtime = Runtime(port=int(os.environ.get("PORT", 8000)), aws_port=int(os.environ.get("EMBEDDED_AWS_PORT", 4566)),
                      simulator_port=int(os.environ.get("SIMULATOR_PORT", 8900))).start()
    platforms = ", ".join(entry.title for entry in SIMULATORS.values())
    print(f"""
dutybridge is running (stage "local")
  API              {runtime.app_url}            (health: {runtime.app_url}/healthz)
  admin token      {runtime.admin_token}
  embedded AWS     {os.environ['AWS_ENDPOINT_URL']}
  simulators       {runtime.simulator_url}/        ({platforms}: clients, consoles, APIs)
  notifications    queue dutybridge-local-notifications

Set up every platform against the simulators and send a first incident:
  AWS_ENDPOINT_URL={os.environ['AWS_ENDPOINT_URL']} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
  AWS_DEFAULT_REGION=us-east-1 .venv/bin/python -m devkit.walkthrough --token {runtime.admin_token} \
    --app {runtime.app_url} --sim {runtime.simulator_url}
Then open the simulator page and click the cards.
Ctrl-C stops everything.
""", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    runtime.stop()


if __name__ == "__main__":
    main()
