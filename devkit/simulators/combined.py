"""One server for every simulator: each platform under its own prefix, a page at ``/``.

The page shows each platform's panel (its chats, cards and buttons, its console and tenant data):
DingTalk under ``/dingtalk``, Feishu under ``/feishu``; WeCom joins them when its simulator lands.
"""
from __future__ import annotations

from dataclasses import dataclass
from http.server import ThreadingHTTPServer

from devkit.simulators.dingtalk import DingTalkSimulator
from devkit.simulators.feishu import FeishuSimulator
from devkit.simulators.http import Route, Router, html_response, serve

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dutybridge 平台模拟器 · platform simulators</title>
<style>body{{margin:0;font-family:-apple-system,"PingFang SC",sans-serif}}
header{{padding:10px 16px;background:#1f2329;color:#fff}}header small{{color:#a9aeb8}}</style></head>
<body><header><b>dutybridge 平台模拟器</b> <small>platform simulators · app {app_url}</small></header>
{panels}</body></html>"""


@dataclass
class Simulators:
    server: ThreadingHTTPServer
    dingtalk: DingTalkSimulator
    feishu: FeishuSimulator
    app_url: str = ""

    @property
    def port(self) -> int:
        return self.server.server_port

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_simulators(host: str = "127.0.0.1", port: int = 0) -> Simulators:
    dingtalk, feishu = DingTalkSimulator(), FeishuSimulator()
    router = Router()
    router.mount("/dingtalk", dingtalk.routes())
    router.mount("/feishu", feishu.routes())
    server, _ = serve(router, host, port)
    dingtalk.base_url = feishu.base_url = f"http://{host}:{server.server_port}"
    simulators = Simulators(server, dingtalk, feishu)
    router.mount("", [Route("GET", r"/", lambda request: html_response(
        PAGE.format(app_url=simulators.app_url, panels=dingtalk.panel_html() + feishu.panel_html())))])
    return simulators
