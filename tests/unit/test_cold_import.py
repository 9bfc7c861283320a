"""A cold container imports ``app`` (every route) before its first request: that import must load no
flow, platform, store or heavy library; each route loads what it needs when it first runs (a module
``common.lazy`` names but nobody touched yet sits in ``sys.modules`` unexecuted, and does not count)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_AT_IMPORT = ("boto3", "botocore", "requests", "jinja2", "Crypto", "defusedxml", "chalicelib.flows.",
                 "chalicelib.delivery.", "chalicelib.store.", "chalicelib.core.", "chalicelib.web.",
                 "chalicelib.platforms.base", "chalicelib.platforms.dingtalk.", "chalicelib.platforms.feishu.",
                 "chalicelib.platforms.wecom.")
PROBE = """
import json, sys
import app
print(json.dumps(sorted(name for name, module in sys.modules.items() if type(module).__name__ != "_LazyModule")))
"""
FIRST_USE = """
import json, sys
from app import app
from chalicelib.routes import workers
workers.consumers.handle_notification  # the notifications handler touches its flow
print(json.dumps(sorted(name for name, module in sys.modules.items() if type(module).__name__ != "_LazyModule")))
"""
ENV = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "DUTYBRIDGE_PREFIX": "dutybridge-test",
       "ADMIN_TOKEN": "t", "PUBLIC_BASE_URL": "https://duty.example.com"}


def _loaded(probe: str) -> list[str]:
    answer = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=ENV, capture_output=True, text=True,
                            check=True)
    return json.loads(answer.stdout)


def _heavy(modules: list[str]) -> list[str]:
    return [name for name in modules if name.split(".")[0] in NOT_AT_IMPORT or name.startswith(NOT_AT_IMPORT)]


def test_importing_app_loads_only_the_routes():
    assert _heavy(_loaded(PROBE)) == []


def test_a_route_loads_its_flow_when_it_first_runs():
    loaded = _loaded(FIRST_USE)
    assert "chalicelib.flows.consumers" in loaded and "boto3" in loaded
    assert not any(name.startswith("chalicelib.web.") or name == "jinja2" for name in loaded)
