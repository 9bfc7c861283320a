"""The walkthrough's preview step: the demo incident's card through each integration (dutybridge's preview
endpoint), handed to the simulator, which shows it in 预览 Preview; a line says where, or what was refused."""
from __future__ import annotations

import json

import pytest
import requests

from devkit.console import Console, create_integration
from devkit.simulators import ROBOTS, SIMULATORS
from devkit.simulators.feishu.simulator import FeishuSimulator
from devkit.walkthrough import preview_cards


class InProcessConsole(Console):
    """The admin API through Chalice's test client; the simulator over HTTP as usual."""

    def __init__(self, client, sim_url: str) -> None:
        super().__init__("", "test-admin-token", sim_url)
        self.client = client

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        response = self.client.http.request(method, path, headers={**self.auth, "Content-Type": "application/json"},
                                            body=json.dumps(body).encode() if body is not None else b"")
        return response.status_code, json.loads(response.body) if response.body else {}


@pytest.fixture
def feishu(client):
    sim = FeishuSimulator()
    with sim.serving():
        yield InProcessConsole(client, sim.base_url), sim


def _previews(sim) -> list[dict]:
    return requests.get(sim.mounted("/_sim/state"), timeout=10).json()["previews"]


def test_an_app_integration_previews_a_persons_card_and_a_groups(feishu):
    console, sim = feishu
    state = requests.get(sim.mounted("/_sim/state"), timeout=10).json()
    view = create_integration(console, SIMULATORS["feishu"].integration(state, sim.base_url))
    lines = preview_cards(console, view["id"], "feishu")
    assert len(lines) == 2 and all(f"→ shown in {sim.base_url}/feishu/ 预览 Preview" in line for line in lines), lines
    assert "(user)" in lines[0] and "(chat)" in lines[1] and "bytes of the request body" in lines[0]
    assert [p["to"] for p in _previews(sim)] == ["user", "chat"]


def test_a_robot_integration_previews_its_groups_message_against_that_robot(feishu):
    console, sim = feishu
    state = requests.get(sim.mounted("/_sim/state"), timeout=10).json()
    view = create_integration(console, ROBOTS["feishu-robot"].integration(state, sim.base_url))
    lines = preview_cards(console, view["id"], "feishu", ("chat",), robot=state["robots"][0]["token"])
    assert len(lines) == 1 and "→ shown in" in lines[0] and _previews(sim)[0]["shown"]["kind"] == "robot"
    other = requests.post(sim.mounted("/_sim/console/robots"), json={"keywords": ["值班口令"]}, timeout=10).json()
    refused = preview_cards(console, view["id"], "feishu", ("chat",), robot=other["robot"]["token"])
    assert "REFUSED 19024 Key Words Not Found" in refused[0] and len(_previews(sim)) == 1
