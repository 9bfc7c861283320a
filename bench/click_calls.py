"""AWS calls per click: a linked person's 认领 (ack) on a delivered card, in a warm container.

    .venv/bin/python -m bench.click_calls [--clicks 20] [--platforms dingtalk feishu wecom]

The world is bench.cold_start's (moto's server, the integrations, a linked member, a delivered card
per incident, each click signed as the platform signs it), but every click is handed to ``app`` in
this one process, as to a warm Lambda container; the first click of each platform warms it and is not
counted. Printed per platform: AWS calls per click by service and operation (botocore's
``before-call`` event, bench.aws_calls), and the clicks' median time to the answer. The incident must
be acknowledged after every click.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import time
import types

from bench.aws_calls import AwsCalls, per
from bench.cold_start import PLATFORMS, REQUESTS, _event, _incident, _leave, _world


def clicks(platforms: list[str], count: int) -> list[dict]:
    saved_env, calls = dict(os.environ), AwsCalls()
    with calls.counting():
        server = _world(platforms)
        try:
            from app import app
            from chalicelib.core import incidents

            rows = []
            for platform in platforms:
                spent, answered = collections.Counter(), []
                for n in range(count + 1):  # click 0 warms the container: not counted
                    incident_id = f"inc-{platform}-click-{n}"
                    _incident(incident_id)
                    event = _event(*REQUESTS[platform](incident_id))  # its card delivered, the click signed
                    before, started = calls.snapshot(), time.perf_counter()
                    answer = app(event, types.SimpleNamespace(aws_request_id="bench", function_name="api_handler"))
                    if n:
                        answered.append(time.perf_counter() - started)
                        spent += calls.since(before)
                    if answer["statusCode"] != 200 or incidents.get(incident_id)["status"] != "acknowledged":
                        raise RuntimeError(f"{platform}: answered {answer['statusCode']} {answer.get('body')!r}")
                rows.append({"platform": platform, "clicks": count,
                             "answer ms (median)": round(1000 * statistics.median(answered), 1),
                             "aws/click": per(spent, count)})
            return rows
        finally:
            _leave(server, saved_env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--platforms", nargs="*", choices=PLATFORMS, default=list(PLATFORMS))
    args = parser.parse_args()
    for row in clicks(args.platforms, args.clicks):
        print(json.dumps(row, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
