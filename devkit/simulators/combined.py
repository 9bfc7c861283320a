"""One server for every simulator in the registry: each platform under its own prefix, a page at ``/``.

The page shows each platform's panel (its chats, cards and buttons, its console and tenant data), in the
registry's order, each under its mount path (``/dingtalk``, ``/feishu``, ``/wecom``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Callable

from devkit.simulators import SIMULATORS
from devkit.simulators.base import PlatformSimulator
from devkit.simulators.http import Route, Router, html_response, serve
from devkit.simulators.media import sample_route

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


@dataclass
class Simulators:
    server: ThreadingHTTPServer
    platforms: dict[str, PlatformSimulator]  # by the registry's names
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
    """Serve every registered simulator; ``now`` is their clock (the fault bench runs them on its faster one)."""
    platforms = {name: entry.simulator(now=now) for name, entry in SIMULATORS.items()}
    router = Router()
    for platform in platforms.values():
        router.mount(platform.mount_path, platform.routes())
    server, _ = serve(router, host, port)
    for platform in platforms.values():
        platform.base_url = f"http://{host}:{server.server_port}"
    simulators = Simulators(server, platforms)
    router.mount("", [Route("GET", r"/", lambda request: html_response(_page(simulators.app_url, platforms))),
                      sample_route()])
    return simulators


def _page(app_url: str, platforms: dict[str, PlatformSimulator]) -> str:
    """Every platform's panel in its own section, with a bar to jump between them."""
    nav = "".join(f'<a href="#{name}">{SIMULATORS[name].title}</a>' for name in platforms)
    panels = "".join(f'<section id="{name}">{p.panel_html()}</section>' for name, p in platforms.items())
    return PAGE.format(app_url=app_url, nav=nav, panels=panels)
