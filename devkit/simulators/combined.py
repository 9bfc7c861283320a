"""One server for every simulator: each platform under its own prefix, a page at ``/``.

The page shows each platform's panel (its chats, cards and buttons, its console and tenant data):
DingTalk under ``/dingtalk``, Feishu under ``/feishu``, WeCom under ``/wecom``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Callable

from devkit.simulators.dingtalk.simulator import DingTalkSimulator
from devkit.simulators.feishu.simulator import FeishuSimulator
from devkit.simulators.http import Route, Router, html_response, serve
from devkit.simulators.wecom.simulator import WeComSimulator

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dutybridge 平台模拟器 · platform simulators</title>
<style>body{{margin:0;font-family:-apple-system,"PingFang SC",sans-serif}}
header{{position:sticky;top:0;z-index:10;padding:10px 16px;background:#1f2329;color:#fff}}
header small{{color:#a9aeb8}}header nav{{display:inline;margin-left:16px}}
header a{{color:#fff;margin-right:14px;text-decoration:none;border-bottom:2px solid transparent}}
header a:hover{{border-color:#fff}}</style></head>
<body><header><b>dutybridge 平台模拟器</b><nav>{nav}</nav><small>platform simulators · app {app_url}</small></header>
{panels}</body></html>"""
TITLES = {"/dingtalk": "钉钉 DingTalk", "/feishu": "飞书 Feishu", "/wecom": "企业微信 WeCom"}


@dataclass
class Simulators:
    server: ThreadingHTTPServer
    dingtalk: DingTalkSimulator
    feishu: FeishuSimulator
    wecom: WeComSimulator
    app_url: str = ""

    @property
    def port(self) -> int:
        return self.server.server_port

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Simulators:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start_simulators(host: str = "127.0.0.1", port: int = 0, now: Callable[[], float] = time.time) -> Simulators:
    """Serve all three; ``now`` is their clock (the fault bench runs them on its faster one)."""
    platforms = dingtalk, feishu, wecom = DingTalkSimulator(now=now), FeishuSimulator(now=now), WeComSimulator(now=now)
    router = Router()
    for platform in platforms:
        router.mount(platform.mount_path, platform.routes())
    server, _ = serve(router, host, port)
    for platform in platforms:
        platform.base_url = f"http://{host}:{server.server_port}"
    simulators = Simulators(server, dingtalk, feishu, wecom)
    router.mount("", [Route("GET", r"/", lambda request: html_response(_page(simulators.app_url, platforms)))])
    return simulators


def _page(app_url: str, platforms) -> str:
    """Every platform's panel in its own section, with a bar to jump between them."""
    anchors = [p.mount_path.strip("/") for p in platforms]
    nav = "".join(f'<a href="#{a}">{TITLES.get(p.mount_path, a)}</a>' for a, p in zip(anchors, platforms, strict=True))
    panels = "".join(f'<section id="{a}">{p.panel_html()}</section>' for a, p in zip(anchors, platforms, strict=True))
    return PAGE.format(app_url=app_url, nav=nav, panels=panels)
