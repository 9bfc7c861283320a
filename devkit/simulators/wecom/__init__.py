"""WeCom (企业微信): one corp's self-built app and a provider's suite, the client panel and the seed guide."""
from __future__ import annotations

from devkit.simulators.entry import RobotEntry, SimulatorEntry
from devkit.simulators.robots import integration_body as robot_integration
from devkit.simulators.wecom.client import WeComClient
from devkit.simulators.wecom.simulator import WeComSimulator
from devkit.simulators.wecom.walkthrough import integration_body, save_urls, setup_wecom, setup_wecom_suite

ENTRY = SimulatorEntry(simulator=WeComSimulator, title="企业微信 WeCom",
                       integration=integration_body, save_urls=save_urls, client=WeComClient,
                       setups={"wecom": setup_wecom, "wecom-suite": setup_wecom_suite})

ROBOT = RobotEntry(name="wecom-robot", simulator=WeComSimulator,
                   integration=lambda state, _sim_url: robot_integration("wecom-robot", "企业微信群机器人", state,
                                                                        api_base=state["apiBase"]))
