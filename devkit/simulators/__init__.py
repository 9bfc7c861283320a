"""Stand-ins for DingTalk, Feishu and WeCom servers used in local runs and end-to-end tests.

``SIMULATORS`` is the one list of them: a platform's simulator is its package here and one line below.
"""
from __future__ import annotations

from devkit.simulators import dingtalk, feishu, wecom
from devkit.simulators.entry import SimulatorEntry

SIMULATORS: dict[str, SimulatorEntry] = {entry.name: entry for entry in (
    dingtalk.ENTRY,
    feishu.ENTRY,
    wecom.ENTRY,
)}
