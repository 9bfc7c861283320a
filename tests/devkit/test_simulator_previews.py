"""POST /<platform>/_sim/preview: a preview's payload checked as the platform's API checks that body (its
code when refused), kept for the page's 预览 Preview conversation with what the preview said; nothing sent."""
from __future__ import annotations

import copy
import json

import pytest
import requests

from chalicelib.core import cards
from tests.factories import alert_group, with_alerts
from tests.platforms.test_adapter_contract import platform  # noqa: F401 (the fixture)
from tests.platforms.test_robot_contract import robot  # noqa: F401 (the fixture)

INCIDENT = {"id": "inc-preview", "severity": "critical", "status": "triggered", "title": "CPU > 95% on db-1",
            "labels": {"service": "db", "region": "cn-hangzhou"}}


def _post(sim, body: dict) -> tuple[int, dict]:
    response = requests.post(sim.mounted("/_sim/preview"), json=body, timeout=10)
    return response.status_code, response.json()


def _state(sim) -> dict:
    return requests.get(sim.mounted("/_sim/state"), timeout=10).json()


def _answer(adapter, kind: str, alerts: int = 1000) -> dict:
    """What POST /integrations/{id}/preview answers for a 1,000-alert incident (flows/previews.py)."""
    card = cards.build(with_alerts(INCIDENT, alert_group(alerts, "磁盘已满 disk full")), adapter.integration_id, {})
    return {"platform": adapter.name, "to": kind, **adapter.preview(kind, card).view()}


def _delivered(state: dict) -> int:
    """Everything the simulator holds as sent: app messages and cards, robot messages."""
    spaces = state.get("messages") or state.get("cards") or state.get("spaces") or {}
    return sum(map(len, spaces.values())) + sum(len(r["messages"]) for r in state["robots"])


@pytest.mark.parametrize("kind", ["user", "chat"])
def test_an_app_preview_is_checked_kept_with_what_it_left_out_and_not_sent(platform, kind):  # noqa: F811
    adapter, sim = platform
    before = _delivered(_state(sim))
    answer = _answer(adapter, kind)
    status, kept = _post(sim, answer)
    assert status == 200 and kept["ok"], kept
    state = _state(sim)
    preview = state["previews"][-1]
    assert preview["platform"] == adapter.name and preview["to"] == kind and preview["shown"]["kind"] == "app"
    assert preview["size"] == answer["size"] and preview["cut"]["alerts"] > 0
    assert preview["more"] == answer["more"] and preview["more"].startswith("还有 ")
    assert _delivered(state) == before  # nothing delivered to anyone


def test_a_robot_preview_is_checked_against_the_robot_and_shown_as_its_group_sees_it(robot):  # noqa: F811
    adapter, _, sim = robot
    answer = _answer(adapter, "chat")
    status, kept = _post(sim, answer)
    assert status == 200 and kept["ok"], kept
    state = _state(sim)
    shown = state["previews"][-1]["shown"]
    assert shown["kind"] == "robot" and shown["robot"]["chatKey"] == state["robots"][0]["chatKey"]
    assert "1000" in shown["message"]["text"] and state["previews"][-1]["more"] == answer["more"]
    assert state["robots"][0]["messages"] == []  # nothing posted into the group


def test_just_the_payload_is_enough_and_its_shape_says_app_or_robot(platform):  # noqa: F811
    adapter, sim = platform
    status, kept = _post(sim, _answer(adapter, "user")["payload"])
    assert status == 200 and kept["preview"]["shown"]["kind"] == "app" and kept["preview"]["size"] is None
    assert kept["preview"]["bytes"] > 0


def test_only_the_last_few_previews_are_kept(robot):  # noqa: F811
    adapter, _, sim = robot
    payload = _answer(adapter, "chat", alerts=1)["payload"]
    for _ in range(12):
        assert _post(sim, payload)[0] == 200
    assert len(_state(sim)["previews"]) == 10


def _feishu_over_30_kb(payload: dict) -> None:
    card = json.loads(payload["content"])
    card["i18n_elements"]["zh_cn"].append({"tag": "markdown", "content": "满" * 11_000})  # 33 KB in UTF-8
    payload["content"] = json.dumps(card, ensure_ascii=False)


def _wecom_seven_lines(payload: dict) -> None:
    payload["template_card"]["horizontal_content_list"] = [{"keyname": f"k{n}", "value": "v"} for n in range(7)]


def _dingtalk_param_over_1_kb(payload: dict) -> None:
    payload["cardData"]["cardParamMap"]["description"] = "x" * 1025


REFUSED = {"feishu": (_feishu_over_30_kb, "230025"), "wecom": (_wecom_seven_lines, "40058"),
           "dingtalk": (_dingtalk_param_over_1_kb, "param.invalid")}


def test_a_payload_the_platform_refuses_gets_its_code_and_is_not_kept(platform):  # noqa: F811
    adapter, sim = platform
    spoil, code = REFUSED[adapter.name]
    answer = _answer(adapter, "user")
    payload = copy.deepcopy(answer["payload"])
    spoil(payload)
    status, refused = _post(sim, {**answer, "payload": payload})
    assert status == 422 and refused["ok"] is False and refused["code"] == code and refused["reason"], refused
    assert str(refused["answer"].get("code", refused["answer"].get("errcode"))) == code  # the platform's own body
    assert _state(sim)["previews"] == []


def _over_the_robot_limit(payload: dict) -> None:
    """Feishu and DingTalk count the whole body (20 KB, 20000 bytes); WeCom the markdown content (4096)."""
    part = payload.get("card") or payload.get("markdown")
    text = "满" * 7000
    if "elements" in part:
        part["elements"].append({"tag": "div", "text": {"tag": "lark_md", "content": text}})
    else:
        part["text" if "text" in part else "content"] += text


ROBOT_CODES = {"feishu-robot": "9499", "dingtalk-robot": "460101", "wecom-robot": "40058"}


def test_a_robot_message_over_the_platform_limit_gets_its_code(robot):  # noqa: F811
    adapter, _, sim = robot
    answer = _answer(adapter, "chat")
    payload = copy.deepcopy(answer["payload"])
    _over_the_robot_limit(payload)
    status, refused = _post(sim, {**answer, "payload": payload})
    assert status == 422 and refused["code"] == ROBOT_CODES[adapter.name], refused


def test_a_robot_keyword_missing_from_the_message_is_refused_as_the_robot_would(robot):  # noqa: F811
    adapter, _, sim = robot
    if adapter.name == "wecom-robot":
        pytest.skip("WeCom 群机器人 have no 自定义关键词")
    created = requests.post(sim.mounted("/_sim/console/robots"), json={"keywords": ["值班口令"]}, timeout=10).json()
    status, refused = _post(sim, {**_answer(adapter, "chat", alerts=1), "robot": created["robot"]["token"]})
    assert status == 422 and refused["code"] == {"feishu-robot": "19024", "dingtalk-robot": "310000"}[adapter.name]


@pytest.mark.parametrize("body", [{}, {"payload": "x"}, {"payload": {}}])
def test_a_body_that_is_no_preview_is_a_clear_400(platform, body):  # noqa: F811
    _, sim = platform
    status, answer = _post(sim, body)
    assert status == 400 and answer["ok"] is False and answer["error"]
