"""Source pushes (issue 13): how fast the push route answers, and how soon a pushed group's card is in the chat.

    .venv/bin/python -m bench.source_push [--pushes 200] [--clients 1 4] [--groups 20] [--alerts 1000]

Two bodies, both Alertmanager 0.25.0's own (tests/fixtures/sources/alertmanager/): ``small`` is
seq1_firing.json as captured (2 alerts, 1.4 KB); ``large`` is large_50.json with its first alert made
``--alerts`` times over, each with its own ``instance`` label and fingerprint (1,000 alerts: 605 KB).
Times are milliseconds; p50/p95/p99 are percentiles of one push's answer.

1. The push answer, ``--pushes`` times per body (the same group again: what the route does does not
   depend on whether the group is new; the worker's half is measured in 2).
   - in-process (moto in this process, no HTTP anywhere): ``route`` is POST /push/{id} through Chalice's
     test client, ``accept_push`` the flow called directly, and the split of one push into its steps:
     ``parse + validate`` (the kind's pydantic models, which also bound the nesting),
     ``source read`` (DynamoDB get_item), ``queue body`` (the message, gzipped when
     large) and ``SQS send``;
   - live (devkit Runtime on free ports: moto's server, Chalice's local server, simulators, all in one
     process): ``HTTP`` is the push over HTTP from ``--clients`` client threads at once, with pushes/s
     over the whole run (client and server share one interpreter, so more clients barely add any);
     ``accept_push`` and the split again, this time against moto's
     server over HTTP as the app sees it locally. HTTP minus accept_push is Chalice's local server and the client. The
     workers are not running while this part runs (in AWS they are other Lambdas): the queue is emptied
     between pushes, untimed (moto's SQS slows down as a queue fills).
   Target (issue 13): a push is answered "in well under 100 ms locally (validate, queue, answer)".
2. Push to card: a source targeting one Feishu group chat (the simulator set up as tests/e2e do, seed 002),
   ``--groups`` new groups pushed one after another, each timed from the push to the card's creation in the
   simulator (its own clock, the same wall clock); then each group's update (one of its 2 alerts resolved)
   timed from the push to the card's change. Through the real pollers (1 s long polls, woken by a message),
   notifications worker, deliveries worker, pacing and Feishu API; p50/p95 printed.
3. One card for the large group: a new group of ``--alerts`` alerts is pushed; its card must arrive (the
   simulator refuses a card over Feishu's 30 KB), say "1000 alerts" and list at most MAX_ALERT_LINES of them.
   Printed: the time to the card, its size against the limit, the simulator's rejections (target 0).

Measured on the 2-core development machine (quiet), main after issue 13, defaults (200 pushes per
body, 20 groups)::

    in-process, small (2 alerts, 1 KB), ms:
      route                        p50     8.1  p95    10.2  p99    15.3
      accept_push                  p50     7.9  p95    10.1  p99    12.3
        parse + validate           p50     0.1  p95     0.2  p99     0.3
        source read                p50     4.6  p95     6.7  p99    15.7
        queue body                 p50     0.1  p95     0.1  p99     0.1
        SQS send                   p50     2.5  p95     3.2  p99     3.4
    in-process, large (1000 alerts, 605 KB), ms:
      route                        p50    30.7  p95   137.8  p99   253.0
      accept_push                  p50    37.1  p95   171.9  p99   202.8
        parse + validate           p50    22.4  p95   150.3  p99   195.7
        source read                p50     4.0  p95     5.7  p99    16.9
        queue body                 p50     9.8  p95    13.1  p99    24.5
        SQS send                   p50     2.2  p95     2.9  p99     6.9
    live, small (2 alerts, 1 KB), ms:
      HTTP, 1 client               p50    19.6  p95    25.9  p99    32.4     49.9 pushes/s
      HTTP, 4 clients              p50    76.7  p95   127.7  p99   164.5     48.5 pushes/s
      accept_push                  p50    13.1  p95    18.5  p99    73.8
        parse + validate           p50     0.1  p95     0.3  p99     1.3
        source read                p50     6.8  p95     9.3  p99    18.9
        queue body                 p50     0.1  p95     0.1  p99     0.1
        SQS send                   p50     5.6  p95     6.7  p99     7.8
    live, large (1000 alerts, 605 KB), ms:
      HTTP, 1 client               p50    53.9  p95   177.6  p99   253.7     15.4 pushes/s
      HTTP, 4 clients              p50   254.3  p95   485.0  p99   520.0     13.8 pushes/s
      accept_push                  p50    51.9  p95   195.2  p99   219.5
        parse + validate           p50    24.2  p95   170.8  p99   197.1
        source read                p50     6.9  p95     9.3  p99    11.9
        queue body                 p50    10.7  p95    15.6  p99    39.3
        SQS send                   p50     5.6  p95     7.0  p99    12.1
    push to card (Feishu group), ms:
      new group → card             p50   241.6  p95   381.8  p99   498.4
      one resolved → card updated  p50   241.2  p95   329.8  p99   436.5
    one card for 1000 alerts: 765 ms to the card, 1 card(s), 7202 bytes (limit 30720),
      says the count: True, simulator rejections 0
    worker failures: 0

Before (the first measurement, main at 5219f7b): over HTTP from 1 client, small p50 59.9 ms, large p50
128 ms (p95 241). Two causes, both gone: Chalice's local server wrote headers and body apart and Nagle's
algorithm held the body for the client's delayed ACK (about 40 ms per request on a kept-alive connection,
as Alertmanager keeps; devkit/runtime.py now sets TCP_NODELAY, API Gateway never had it), and the push
route measured the nesting of the whole body in a Python loop before parsing (29-32 ms on 605 KB): the
kind's pydantic parser bounds the nesting itself, and the measure now runs only to say why a body was
refused. What is left of a large push is pydantic's parse (its p95 is several times its median: the
collector meeting the objects 1,000 alerts make) and gzip for the queue.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import requests

from bench.fault_clock import Warp
from bench.fault_runtime import BenchRuntime
from chalicelib.common import aws, config, queues, sealing
from chalicelib.flows import sources as flows
from chalicelib.sources import kind
from chalicelib.store import sources as source_store
from devkit.console import Console
from devkit.simulators.feishu.cards import MAX_CARD_BYTES
from devkit.simulators.feishu.walkthrough import setup_feishu

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sources" / "alertmanager"
IN_PROCESS_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                  "AWS_REGION": "us-east-1", "DUTYBRIDGE_PREFIX": "dutybridge-bench", "ADMIN_TOKEN": "bench-admin",
                  "PUBLIC_BASE_URL": "http://127.0.0.1:9"}
CARD_TIMEOUT = 30.0
POLL = 0.05


@dataclass
class Options:
    pushes: int = 200
    clients: tuple[int, ...] = (1, 4)
    groups: int = 20
    alerts: int = 1000


# -- bodies --------------------------------------------------------------------------------------------

def large_body(alerts: int) -> bytes:
    """large_50.json's first alert ``alerts`` times over, each its own instance and fingerprint."""
    body = json.loads((FIXTURES / "large_50.json").read_bytes())
    template = body["alerts"][0]
    body["alerts"] = [{**template, "labels": {**template["labels"], "instance": f"node-{n}:9100"},
                       "fingerprint": f"{n:016x}"} for n in range(alerts)]
    return json.dumps(body).encode()


def bodies(alerts: int) -> dict[str, bytes]:
    return {"small": (FIXTURES / "seq1_firing.json").read_bytes(), "large": large_body(alerts)}


def as_new_group(raw: bytes, name: str) -> bytes:
    """The same push for another group: its own group key, group label and common label."""
    body = json.loads(raw)
    body["groupKey"] += f':{{bench="{name}"}}'
    for labels in (body["groupLabels"], body["commonLabels"], *(a["labels"] for a in body["alerts"])):
        labels["bench"] = name
    return json.dumps(body).encode()


# -- figures -------------------------------------------------------------------------------------------

def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds (with one sample, all three are it)."""
    cuts = statistics.quantiles(seconds, n=100, method="inclusive") if len(seconds) > 1 else seconds * 99
    return {"p50": statistics.median(seconds) * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


def timed(call: Callable[[], Any], times: int) -> list[float]:
    """``call``'s durations; what it queued is taken off the queue between calls, untimed."""
    call()  # warm: the first call imports and builds clients
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        spent.append(time.perf_counter() - started)
        drain()
    return spent


def drain() -> None:
    """Empty the notifications queue: moto's SQS costs more per call the more a queue holds, and
    SQS allows one purge a minute."""
    sqs, url = aws.client("sqs"), aws.queue_url("notifications")
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])


def split(source_id: str, key: str, raw: bytes, times: int) -> dict[str, dict[str, float]]:
    """One push's steps, each timed on its own as accept_push makes them."""
    source_kind = kind("alertmanager")
    group = source_kind.parse(raw)
    message = flows._queued(source_id, group)
    steps = {"accept_push": lambda: flows.accept_push(source_id, key, raw),
             "  parse + validate": lambda: source_kind.parse(raw),
             "  source read": lambda: source_store.get(source_id),
             "  queue body": lambda: flows._queued(source_id, group), "  SQS send": lambda: queues.notify(message)}
    return {name: percentiles(timed(step, times)) for name, step in steps.items()}


# -- 1. in-process -------------------------------------------------------------------------------------

@contextmanager
def restored_environment() -> Iterator[None]:
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        forget_settings()


def forget_settings() -> None:
    """The settings, AWS clients and data key are cached per process: read again from the environment."""
    for module in (config, aws, sealing):
        module.reset()


def in_process(options: Options, pushed: dict[str, bytes]) -> dict[str, Any]:
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from infra.bootstrap import bootstrap

    with restored_environment(), mock_aws():
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.update(IN_PROCESS_ENV)
        forget_settings()
        bootstrap(IN_PROCESS_ENV["DUTYBRIDGE_PREFIX"])
        config.settings()  # Chalice's test client swaps in the dev stage's environment: read ours first
        with Client(app) as client:
            answer = client.http.post("/sources", headers={"Authorization": "Bearer bench-admin",
                                                           "Content-Type": "application/json"},
                                      body=json.dumps({"kind": "alertmanager", "name": "bench"}))
            source = json.loads(answer.body)
            key = source["push_url"].split("?key=")[1]
            path = f"/push/{source['id']}?key={key}"
            figures = {}
            for name, raw in pushed.items():
                def post(raw: bytes = raw) -> None:
                    status = client.http.post(path, body=raw, headers={"Content-Type": "application/json"}).status_code
                    if status != 202:
                        raise RuntimeError(f"push answered {status}")
                figures[name] = {"route": percentiles(timed(post, options.pushes)),
                                 **split(source["id"], key, raw, options.pushes)}
            return figures


# -- 1, 2, 3 live --------------------------------------------------------------------------------------

class PushRuntime(BenchRuntime):
    """The local runtime with its pollers held back until ``start_workers``: the push route measured alone."""

    def _start_pollers(self) -> None:
        self.pollers = []

    def start_workers(self) -> None:
        super()._start_pollers()


def http_pushes(url: str, raw: bytes, pushes: int, clients: int) -> dict[str, float]:
    """``pushes`` pushes from ``clients`` threads at once: answer percentiles and pushes per second."""
    def one(session: requests.Session) -> float:
        started = time.perf_counter()
        answer = session.post(url, data=raw, headers={"Content-Type": "application/json"}, timeout=30)
        if answer.status_code != 202:
            raise RuntimeError(f"push answered {answer.status_code}: {answer.text[:200]}")
        return time.perf_counter() - started

    sessions = [requests.Session() for _ in range(clients)]
    for session in sessions:
        one(session)  # warm each connection
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        spent = list(pool.map(lambda n: one(sessions[n % clients]), range(pushes)))
    per_second = pushes / (time.perf_counter() - started)
    drain()
    return {**percentiles(spent), "per_second": per_second}


def live_answers(runtime: PushRuntime, options: Options, pushed: dict[str, bytes]) -> dict[str, Any]:
    console = Console(runtime.app_url, runtime.admin_token, runtime.simulator_url)
    status, source = console.api("POST", "/sources", {"kind": "alertmanager", "name": "bench-answers"})
    if status != 201:
        raise RuntimeError(f"creating the source failed: {status} {source}")
    url, key = source["push_url"], source["push_url"].split("?key=")[1]
    figures = {}
    for name, raw in pushed.items():
        figures[name] = {f"HTTP, {clients} client{'s' * (clients > 1)}": http_pushes(url, raw, options.pushes, clients)
                         for clients in options.clients}
        figures[name].update(split(source["id"], key, raw, options.pushes))
    return figures


@dataclass
class Chat:
    """The Feishu group a source's cards go to, read through the simulator's state API."""

    console: Console
    chat_id: str
    source: dict = field(default_factory=dict)

    def cards(self) -> list[dict]:
        state = self.console.sim("GET", "/_sim/state", platform="feishu")
        return [m for m in state["messages"].get(f"chat:{self.chat_id}", [])]

    def card_of(self, group: str) -> dict | None:
        marker = f"{self.source['id']}.{group}."
        return next((m for m in self.cards() if marker in json.dumps(m["content"])), None)

    def push(self, raw: bytes) -> tuple[float, str]:
        sent = time.time()
        answer = requests.post(self.source["push_url"], data=raw, headers={"Content-Type": "application/json"},
                               timeout=30)
        if answer.status_code != 202:
            raise RuntimeError(f"push answered {answer.status_code}: {answer.text[:200]}")
        return sent, answer.json()["group"]

    def wait_card(self, group: str, what: str, shown: Callable[[dict], bool] = lambda card: True) -> dict:
        """The group's card once it shows what ``shown`` looks for."""
        deadline = time.monotonic() + CARD_TIMEOUT
        while not ((card := self.card_of(group)) and shown(card)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} within {CARD_TIMEOUT:.0f} s")
            time.sleep(POLL)
        return card


def chat_source(console: Console) -> Chat:
    done = setup_feishu(console)
    chat = Chat(console, done["group"])
    status, chat.source = console.api("POST", "/sources", {
        "kind": "alertmanager", "name": "bench-cards",
        "targets": {"chats": [{"integration_id": done["integration"]["id"], "chat_id": done["group"]}]}})
    if status != 201:
        raise RuntimeError(f"creating the source failed: {status} {chat.source}")
    return chat


def resolved_text(card: dict) -> bool:
    return "1 resolved" in json.dumps(card["content"], ensure_ascii=False)


def push_to_card(chat: Chat, groups: int) -> dict[str, dict[str, float]]:
    """Each new group's card, then its update once one of its alerts resolved: seconds from each push."""
    firing, resolved = (FIXTURES / "seq1_firing.json").read_bytes(), (FIXTURES / "seq2_one_resolved.json").read_bytes()
    to_card, to_update = [], []
    run = f"{time.time():.0f}"
    for n in range(groups):
        sent, group = chat.push(as_new_group(firing, f"{run}-{n}"))
        card = chat.wait_card(group, f"card for group {n}")
        to_card.append(card["createdAt"] - sent)
        sent, _ = chat.push(as_new_group(resolved, f"{run}-{n}"))
        card = chat.wait_card(group, f"update of group {n}", resolved_text)
        to_update.append(card["history"][-1]["at"] - sent)
    return {"new group → card": percentiles(to_card), "one resolved → card updated": percentiles(to_update)}


def one_card(chat: Chat, runtime: PushRuntime, alerts: int) -> dict[str, Any]:
    """A new group of ``alerts`` alerts: its card, what it says, its size."""
    rejected_before = len(runtime.simulators.platforms["feishu"].journal.rejections)
    sent, group = chat.push(as_new_group(large_body(alerts), f"large-{time.time():.0f}"))
    card = chat.wait_card(group, f"card of {alerts} alerts")
    text = json.dumps(card["content"], ensure_ascii=False)
    marker = f"{chat.source['id']}.{group}."
    return {"seconds": card["createdAt"] - sent, "bytes": len(text.encode("utf-8")), "limit": MAX_CARD_BYTES,
            "says_count": f"{alerts} alerts" in text,
            "cards": sum(marker in json.dumps(m["content"]) for m in chat.cards()),
            "rejections": len(runtime.simulators.platforms["feishu"].journal.rejections) - rejected_before}


def live(options: Options, pushed: dict[str, bytes]) -> dict[str, Any]:
    with restored_environment():
        runtime = PushRuntime(port=0, aws_port=0, simulator_port=0, warp=Warp(1), delivery_workers=1).start()
        try:
            answers = live_answers(runtime, options, pushed)
            runtime.start_workers()
            chat = chat_source(Console(runtime.app_url, runtime.admin_token, runtime.simulator_url))
            return {"answers": answers, "cards": push_to_card(chat, options.groups),
                    "one_card": one_card(chat, runtime, options.alerts),
                    "handler_failures": sum(poller.failed for poller in runtime.pollers)}
        finally:
            runtime.stop()


def run(options: Options) -> dict[str, Any]:
    pushed = bodies(options.alerts)
    return {"sizes": {name: len(raw) for name, raw in pushed.items()}, "alerts": options.alerts,
            "in_process": in_process(options, pushed), "live": live(options, pushed)}


# -- report --------------------------------------------------------------------------------------------

def _row(label: str, figures: dict[str, float]) -> str:
    line = f"  {label:28s} p50 {figures['p50']:7.1f}  p95 {figures['p95']:7.1f}  p99 {figures['p99']:7.1f}"
    return line + (f"   {figures['per_second']:6.1f} pushes/s" if "per_second" in figures else "")


def report(figures: dict[str, Any]) -> str:
    names = {"small": "small (2 alerts, {} KB)", "large": f"large ({figures['alerts']} alerts, {{}} KB)"}
    lines = []
    for where, answers in (("in-process", figures["in_process"]), ("live", figures["live"]["answers"])):
        for name, rows in answers.items():
            lines.append(f"{where}, {names[name].format(round(figures['sizes'][name] / 1024))}, ms:")
            lines += [_row(label, row) for label, row in rows.items()]
    lines.append("push to card (Feishu group), ms:")
    lines += [_row(label, row) for label, row in figures["live"]["cards"].items()]
    card = figures["live"]["one_card"]
    lines.append(f"one card for {figures['alerts']} alerts: {card['seconds'] * 1000:.0f} ms to the card, "
                 f"{card['cards']} card(s), {card['bytes']} bytes (limit {card['limit']}), "
                 f"says the count: {card['says_count']}, simulator rejections {card['rejections']}")
    lines.append(f"worker failures: {figures['live']['handler_failures']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=Options.pushes)
    parser.add_argument("--clients", type=int, nargs="+", default=list(Options.clients))
    parser.add_argument("--groups", type=int, default=Options.groups)
    parser.add_argument("--alerts", type=int, default=Options.alerts)
    args = parser.parse_args()
    print(report(run(Options(args.pushes, tuple(args.clients), args.groups, args.alerts))))


if __name__ == "__main__":
    main()
