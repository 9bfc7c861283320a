"""Feishu / Lark (飞书): one tenant's side of Feishu, its client panel and the seed guide played against it."""
from __future__ import annotations

from devkit.simulators.entry import RobotEntry, SimulatorEntry
from devkit.simulators.feishu.client import FeishuClient
from devkit.simulators.feishu.simulator import FeishuSimulator
from devkit.simulators.feishu.walkthrough import integration_body, save_urls, setup_feishu
from devkit.simulators.robots import integration_body as robot_integration

ENTRY = SimulatorEntry(simulator=FeishuSimulator, title="飞书 Feishu",
                       integration=integration_body, save_urls=save_urls, client=FeishuClient,
                       setups={"feishu": setup_feishu})

ROBOT = RobotEntry(name="feishu-robot", simulator=FeishuSimulator,
                   integration=lambda state, _sim_url: robot_integration("feishu-robot", "飞书群机器人", state,
                                                                        api_base=state["apiBase"]))
