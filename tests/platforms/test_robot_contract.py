"""What every robot adapter promises, checked the same way for each registered robot against its platform's
simulator, which checks signatures, keywords and limits as the platform does and answers with its codes
(tests/fixtures/robots/README.md): the webhook the seed guide hands the admin works as saved, the largest
incident of a thousand alerts fits one message, each state change is one follow-up, a wrong secret or a
missing keyword is a setup error that says what to fix, and the per-minute limit is a wait, never a loss."""
from __future__ import annotations

import uuid
from typing import Iterator

import pytest
import requests

from chalicelib.common.errors import Permanent, RateLimited
from chalicelib.core import cards
from chalicelib.core.cards import Mention
from chalicelib.platforms import adapter_class, build, names
from chalicelib.platforms.robot import CHAT, RobotAdapter
from devkit.simulators import entry_for
from tests.factories import alert_group, with_alerts
from tests.platforms.test_adapter_contract import LARGEST

ROBOTS = [name for name in names() if not adapter_class(name).reaches_people]
ALICE = Mention(name="张伟", mobile="13800000001", user_ids={"dingtalk": "zhangwei", "feishu": "ou_zhangwei",
                                                            "wecom": "ZhangWei"})


@pytest.fixture(params=ROBOTS)
def robot(request, aws_env) -> Iterator[tuple[RobotAdapter, dict, object]]:
    entry = entry_for(request.param)
    sim = entry.simulator()
    with sim.serving():
        state = requests.get(sim.mounted("/_sim/state"), timeout=10).json()
        body = entry.integration(state, sim.base_url)
        adapter = build(request.param, f"int_{uuid.uuid4().hex[:8]}", body["credentials"], body["settings"])
        adapter.check_credentials()  # saving sends nothing: only the webhook's shape
        yield adapter, body, sim


def _messages(sim) -> list[dict]:
    state = requests.get(sim.mounted("/_sim/state"), timeout=10).json()
    return state["robots"][0]["messages"]


def test_the_largest_incident_is_one_message_and_a_change_one_follow_up(robot):
    adapter, _, sim = robot
    incident = with_alerts(LARGEST, alert_group(1000, ("磁盘已满 [disk](https://x) *full* " * 20)[:512], resolved=10))
    card = cards.build(incident, adapter.integration_id, {}).model_copy(update={"mentions": [ALICE]})
    ref = adapter.send_card("chat", CHAT, card, "contract-robot")
    before = len(_messages(sim))
    acked = {**incident, "status": "acknowledged", "last_action": {"action": "ack", "id": "zhangwei", "name": "张伟",
                                                                   "at": "2026-12-01T10:00:00Z"}}
    ref = adapter.update_card(ref, cards.build(acked, adapter.integration_id, {}))
    adapter.update_card(ref, cards.build(acked, adapter.integration_id, {}))  # nothing new: nothing sent
    messages = _messages(sim)
    assert len(messages) == before + 1
    assert any(m["mentions"] for m in messages), "the first message @s the targeted member"


def test_a_wrong_secret_or_key_is_a_setup_error_that_says_what_to_fix(robot):
    adapter, body, _ = robot
    credentials = dict(body["credentials"])
    if credentials.get("secret"):
        credentials["secret"] = credentials["secret"][:-4] + "0000"
    else:
        credentials["webhook"] = credentials["webhook"][:-4] + "0000"
    wrong = build(adapter.name, adapter.integration_id, credentials, body["settings"])
    with pytest.raises(Permanent) as refused:
        wrong.send_card("chat", CHAT, cards.build(LARGEST, adapter.integration_id, {}), "contract-wrong")
    assert "(" in refused.value.message and refused.value.platform_code != "0"


def test_the_per_minute_limit_is_a_wait(robot):
    adapter, _, _ = robot
    card = cards.build({**LARGEST, "title": "限流 rate"}, adapter.integration_id, {})
    with pytest.raises(RateLimited) as throttled:
        for n in range(adapter.per_minute + 1):
            adapter.send_card("chat", CHAT, card, f"contract-rate-{n}")
    assert throttled.value.retry_after >= 1
