"""DingTalk (钉钉): one org's side of DingTalk, its client panel and the seed guide played against it."""
from __future__ import annotations

from devkit.simulators.dingtalk.simulator import DingTalkSimulator
from devkit.simulators.dingtalk.walkthrough import setup_dingtalk
from devkit.simulators.entry import SimulatorEntry

ENTRY = SimulatorEntry(DingTalkSimulator, "钉钉 DingTalk", {"dingtalk": setup_dingtalk})
