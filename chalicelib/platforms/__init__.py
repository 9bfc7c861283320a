"""The explicit platform registry: adding a platform is one module and one line here."""
from __future__ import annotations

from chalicelib.platforms.base import Adapter
from chalicelib.platforms.dingtalk.adapter import DingTalk
from chalicelib.platforms.feishu.adapter import Feishu
from chalicelib.platforms.wecom.adapter import WeCom

REGISTRY: dict[str, type[Adapter]] = {
    DingTalk.name: DingTalk,
    Feishu.name: Feishu,
    WeCom.name: WeCom,
}
