"""DingTalk (钉钉): one org's side of DingTalk, its client panel and the seed guide played against it."""
from __future__ import annotations

from devkit.simulators.dingtalk.client import DingTalkClient
from devkit.simulators.dingtalk.simulator import DingTalkSimulator
from devkit.simulators.dingtalk.walkthrough import integration_body, save_urls, setup_dingtalk
from devkit.simulators.entry import RobotEntry, SimulatorEntry
from devkit.simulators.robots import integration_body as robot_integration

ENTRY = SimulatorEntry(simulator=DingTalkSimulator, title="钉钉 DingTalk",
                       integration=integration_body, save_urls=save_urls, client=DingTalkClient,
                       setups={"dingtalk": setup_dingtalk})

ROBOT = RobotEntry(name="dingtalk-robot", simulator=DingTalkSimulator,
                   integration=lambda state, _sim_url: robot_integration("dingtalk-robot", "钉钉群机器人", state,
                                                                        oapi_base=state["oapiBase"]))
