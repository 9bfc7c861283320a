"""The whole system on this machine: embedded AWS, the Chalice app, SQS pollers, simulators.

``make run`` starts it with the ports from the environment; the end-to-end tests start the same
pieces on free ports.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import sys
import threading
from dataclasses import dataclass, field

import requests
from moto.server import ThreadedMotoServer

from chalicelib.common import schema

PREFIX = "dutybridge-local"


PUSH_KEY = re.compile(r"([?&]key=)[^&\s\"]+")


def _log_without_keys(handler, format: str, *args) -> None:
    """The local server's access log, with the push key a source's push_url carries masked: a secret is
    never logged."""
    sys.stderr.write("%s - - [%s] %s\n" % (handler.address_string(), handler.log_date_time_string(),
                                           PUSH_KEY.sub(r"\1****", format % args)))


@dataclass
class Runtime:
    host: str = "127.0.0.1"
    port: int = 8000
    aws_port: int = 4566
    simulator_port: int = 8900
    admin_token: str = field(default_factory=lambda: os.environ.get("ADMIN_TOKEN") or secrets.token_urlsafe(18))
    stop_event: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "Runtime":
        self._start_aws()
        self._start_simulators()
        self._start_app()
        self._start_pollers()
        return self

    def _start_aws(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the embedded AWS logs every poll otherwise
        self.moto = ThreadedMotoServer(self.host, self.aws_port, verbose=False)
        self.moto.start()
        self.aws_port = self.moto.get_host_and_port()[1]
        os.environ.update({
            "AWS_ENDPOINT_URL": f"http://{self.host}:{self.aws_port}", "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
            "DUTYBRIDGE_PREFIX": PREFIX, "ADMIN_TOKEN_PARAMETER": schema.parameter_name(PREFIX, schema.ADMIN_TOKEN)})
        from chalicelib.common import admin_token, aws, config
        from infra.bootstrap import bootstrap
        config.reset()
        aws.reset()
        admin_token.reset()
        bootstrap(PREFIX, admin_token=self.admin_token)  # the app reads it from the embedded SSM, as deployed

    def _start_simulators(self) -> None:
        from devkit.simulators.combined import start_simulators
        self.simulators = start_simulators(self.host, self.simulator_port)
        self.simulator_port = self.simulators.port

    def _start_app(self) -> None:
        from chalice.config import Config
        from chalice.local import create_local_server

        from app import app
        from chalicelib.common import config

        self._app_class = app.__class__  # chalice rebases it for the local server; stop() puts it back
        self.server = create_local_server(app, Config.create(chalice_stage="local", app_name="dutybridge"),
                                          self.host, self.port)
        self.port = self.server.server.server_address[1]
        # Chalice's local server writes an answer's headers and body apart: on a kept-alive connection (as
        # Alertmanager keeps its own) Nagle's algorithm would hold the body for the client's delayed ACK,
        # some 40 ms a request that API Gateway never adds (bench/source_push.py measured it).
        handler = self.server.server.RequestHandlerClass.func
        handler.disable_nagle_algorithm = True
        handler.log_message = _log_without_keys
        self.simulators.app_url = self.app_url  # the simulator page names the app (known once its port is)
        os.environ["PUBLIC_BASE_URL"] = self.app_url
        config.reset()
        threading.Thread(target=self.server.server.serve_forever, name="chalice-local", daemon=True).start()

    def _start_pollers(self) -> None:
        from chalicelib.routes import workers
        from devkit.pollers import Poller
        self.pollers = [Poller(logical, handler, self.stop_event, self.concurrency(logical)) for logical, handler in (
            ("notifications", workers.notifications), ("deliveries", workers.deliveries),
            ("war-rooms", workers.war_rooms))]
        for poller in self.pollers:
            poller.start()

    def concurrency(self, logical: str) -> int:
        """Invocations of a queue's handler at once (as Lambda runs several): ``HANDLERS_PER_QUEUE``, else 4."""
        from devkit.pollers import handlers_per_queue
        return handlers_per_queue()

    @property
    def app_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def simulator_url(self) -> str:
        return f"http://{self.host}:{self.simulator_port}"

    def stop(self) -> None:
        self.stop_event.set()
        for poller in self.pollers:
            poller.join(timeout=5)
        self.server.server.shutdown()
        self.server.server.server_close()
        self.simulators.stop()
        # moto keeps its state in process-wide backends and chalice rebased the app's class:
        # undo both so another Runtime in this process (the e2e and browser tests) starts clean
        requests.post(f"{os.environ['AWS_ENDPOINT_URL']}/moto-api/reset", timeout=10)
        self.moto.stop()
        from app import app
        app.__class__ = self._app_class
