"""Feishu / Lark (飞书): one tenant's side of Feishu, its client panel and the seed guide played against it."""
from __future__ import annotations

from devkit.simulators.entry import SimulatorEntry
from devkit.simulators.feishu.simulator import FeishuSimulator
from devkit.simulators.feishu.walkthrough import setup_feishu

ENTRY = SimulatorEntry(FeishuSimulator, "飞书 Feishu", {"feishu": setup_feishu})
