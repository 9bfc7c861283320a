"""Cards that fit (issue 15): how long each platform takes to build, fit and render a card, and how full it is.

    .venv/bin/python -m bench.card_fit [--rounds 200]

Three incidents: ``small`` (3 labels, a short description), ``wide`` (30 labels, a 10 KB description) and
``storm`` (an Alertmanager group of 1,000 alerts with 50 labels and an 8 KB description, the largest a
producer may send). For each platform's message (the three apps' user cards, the WeCom group summary, the
three robots' first messages) it prints the time to fit and render one card (``preview``: what a send
does before its request, in ms, p50/p95), the payload's size against the platform's limit, and how many
items the "还有 N 项" line counts. Fitting tries the whole card first and, only when it does not fit, each
label and alert once in priority order: the cost grows with what is left out, not with the incident.
"""
from __future__ import annotations

import argparse
import statistics
import time

from chalicelib.core import cards
from chalicelib.platforms import build
from tests.factories import alert_group, with_alerts

SMALL = {"id": "inc-small", "severity": "critical", "status": "triggered", "title": "CPU > 95% on db-1",
         "description": "主库 CPU 持续 5 分钟超过 95%", "labels": {"service": "db", "instance": "db-1", "env": "prod"}}
WIDE = {**SMALL, "id": "inc-wide", "description": "下单接口超时 timeout; " * 600,
        "labels": {f"label_{n:02d}": f"value-{n}" for n in range(25)} | {"service": "db", "instance": "db-1",
                                                                          "env": "prod", "region": "cn", "job": "n"}}
STORM = with_alerts({**SMALL, "id": "inc-storm", "description": "磁盘将满 disk almost full; " * 320,
                     "labels": {f"label_{n:02d}": "值" * 40 + "v" * 60 for n in range(50)}},
                    alert_group(1000, "磁盘已满 [disk](https://x) *full* " * 10, resolved=10))
APPS = {"dingtalk": {"corp_id": "ding1", "agent_id": "1", "client_id": "c", "client_secret": "s", "aes_key": "a" * 43,
                     "token": "t"},
        "feishu": {"app_id": "cli_1", "app_secret": "s", "verification_token": "v"},
        "wecom": {"corp_id": "ww1", "agent_id": "1000002", "secret": "s", "token": "t", "encoding_aes_key": "a" * 43}}
ROBOTS = {"dingtalk-robot": "https://oapi.dingtalk.com/robot/send?access_token=x",
          "feishu-robot": "https://open.feishu.cn/open-apis/bot/v2/hook/x",
          "wecom-robot": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x"}


def _messages() -> list[tuple[str, object, str]]:
    """(row name, adapter, kind) of every message a card becomes."""
    rows = [(name, build(name, "int_bench", credentials, {"card_template_id": "t"} if name == "dingtalk" else {}),
             "user") for name, credentials in APPS.items()]
    rows.append(("wecom group summary", rows[2][1], "chat"))
    rows += [(name, build(name, "int_bench", {"webhook": url, "view_key": "k"}, {}), "chat")
             for name, url in ROBOTS.items()]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds
    print(f"fit + render one card, {rounds} rounds (ms); size against the platform's limit; items left out")
    for label, incident in (("small", SMALL), ("wide", WIDE), ("storm", STORM)):
        print(f"\n{label}:")
        for name, adapter, kind in _messages():
            card = cards.build(incident, "int_bench", {})
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                preview = adapter.preview(kind, card)
                times.append((time.perf_counter() - start) * 1000)
            p95 = statistics.quantiles(times, n=20)[-1]
            print(f"  {name:22} p50 {statistics.median(times):6.2f}  p95 {p95:6.2f}   {preview.size:6} / "
                  f"{preview.limit:<6} {preview.measured[:40]:40}  left out {preview.shown.cut.count()}")


if __name__ == "__main__":
    main()
