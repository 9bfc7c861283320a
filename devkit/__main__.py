"""``python -m devkit`` (what ``make run`` calls): start everything and print where it is."""
from __future__ import annotations

import logging
import os
import signal
import threading

from devkit.runtime import Runtime


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    runtime = Runtime(port=int(os.environ.get("PORT", 8000)), aws_port=int(os.environ.get("EMBEDDED_AWS_PORT", 4566)),
                      simulator_port=int(os.environ.get("SIMULATOR_PORT", 8900))).start()
    print(f"""
dutybridge is running (stage "local")
  API              {runtime.app_url}            (health: {runtime.app_url}/healthz)
  admin token      {runtime.admin_token}
  embedded AWS     {os.environ['AWS_ENDPOINT_URL']}
  simulators       {runtime.simulator_url}/        (DingTalk client, console and API)
  notifications    queue dutybridge-local-notifications

Try:  curl -H 'Authorization: Bearer {runtime.admin_token}' {runtime.app_url}/integrations
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
