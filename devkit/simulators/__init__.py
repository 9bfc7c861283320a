"""Stand-ins for DingTalk, Feishu and WeCom servers used in local runs and end-to-end tests.

``SIMULATORS`` is the one list of them: a platform's simulator is its package here and one line below.
"""
from __future__ import annotations

from devkit.simulators import dingtalk, feishu, wecom
from devkit.simulators.entry import RobotEntry, SimulatorEntry

SIMULATORS: dict[str, SimulatorEntry] = {entry.name: entry for entry in (
    dingtalk.ENTRY,
    feishu.ENTRY,
    wecom.ENTRY,
)}

# Custom group robots: platforms of their own in the app's registry, each served by its platform's simulator.
ROBOTS: dict[str, RobotEntry] = {entry.name: entry for entry in (dingtalk.ROBOT, feishu.ROBOT, wecom.ROBOT)}


def entry_for(platform: str) -> SimulatorEntry | RobotEntry:
    """The simulator entry of a platform in the app's registry, robots included."""
    return SIMULATORS[platform] if platform in SIMULATORS else ROBOTS[platform]
