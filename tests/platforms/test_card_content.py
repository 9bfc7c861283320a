"""Cards that tell everything, on every platform (apps and robots): what does not fit is chosen in priority
order (label_order), counted on the card's "还有 N 项 · +N more" line, reported by the preview, and the
platform (its simulator) takes what is sent. Templates replace the title and lines, never the buttons."""
from __future__ import annotations

import html
import json
import re

import pytest

from chalicelib.core import cards
from chalicelib.platforms.robot import CHAT
from chalicelib.platforms.wecom import cards as wecom
from tests.factories import alert_group, with_alerts
from tests.platforms.test_adapter_contract import _recipient, platform  # noqa: F401 (the fixture)
from tests.platforms.test_robot_contract import robot  # noqa: F401 (the fixture)

THIRTY = {f"{letter}": f"value-{letter}" for letter in "abcdefghijklmnopqrstuvwxy"} | {
    "service": "checkout", "region": "cn-north-1", "instance": "10.0.3.7:9100", "job": "node", "env": "prod"}
INCIDENT = {"id": "inc-content", "severity": "critical", "status": "triggered", "title": "CPU > 95% on db-1",
            "description": "下单接口超时 timeout; " * 600,  # ~10 KB
            "labels": THIRTY, "url": "https://grafana.example.com/d/x"}
SETTINGS = {"label_order": ["service", "region", "instance"]}
TEMPLATE = {"title": "【{{ severity_zh }}】{{ labels.service }} {{ title }}",
            "content": "服务 Service: {{ labels.service }}\n区域 Region: {{ labels.region }}\n"
                       "{% for a in alerts[:3] %}{{ a.status_zh }}: {{ a.summary }}\n{% endfor %}"}


def _more(text: str) -> int | None:
    found = re.search(r"还有 (\d+) 项 · \+(\d+) more", text)
    assert found is None or found[1] == found[2], text
    return int(found[1]) if found else None


def _says_what_it_left_out(preview) -> None:
    shown, payload = preview.shown, json.dumps(preview.payload, ensure_ascii=False)
    assert preview.size <= preview.limit, (preview.measured, preview.size, preview.limit)
    assert shown.cut.count() > 0 and _more(payload) == shown.cut.count() and shown.more in payload
    if any(key == "service" for key, _ in shown.facts) or "service" in shown.cut.facts:
        # what was cut is chosen in priority order: a listed label is never cut while an unlisted one shows
        listed = {"service", "region", "instance"}
        assert not (listed & set(shown.cut.facts) and {k for k, _ in shown.facts} - listed), shown.facts


@pytest.mark.parametrize("alerts", [0, 1000], ids=["30 labels and 10 KB", "1000 alerts"])
def test_an_app_card_says_what_it_left_out_and_the_platform_takes_it(platform, alerts):  # noqa: F811
    adapter, sim = platform
    incident = with_alerts(INCIDENT, alert_group(alerts, "磁盘已满 disk full")) if alerts else INCIDENT
    card = cards.build(incident, adapter.integration_id, SETTINGS)
    preview = adapter.preview("user", card)
    _says_what_it_left_out(preview)
    assert preview.shown.facts[0] == ("service", "checkout")  # the first of label_order comes first
    adapter.send_card("user", _recipient(adapter, sim), card, f"content-{alerts}")  # the simulator's checks pass


@pytest.mark.parametrize("alerts", [0, 1000], ids=["30 labels and 10 KB", "1000 alerts"])
def test_a_robot_message_says_what_it_left_out_and_the_platform_takes_it(robot, alerts):  # noqa: F811
    adapter, _, _ = robot
    incident = with_alerts(INCIDENT, alert_group(alerts, "磁盘已满 disk full")) if alerts else INCIDENT
    card = cards.build(incident, adapter.integration_id, SETTINGS)
    preview = adapter.preview("user", card)  # a robot posts into its group whatever is asked
    _says_what_it_left_out(preview)
    adapter.send_card("chat", CHAT, card, f"content-{alerts}")


def test_a_template_gives_every_app_card_its_title_and_lines_and_keeps_the_buttons(platform):  # noqa: F811
    adapter, sim = platform
    incident = with_alerts(INCIDENT, alert_group(5, "磁盘已满 disk full"))
    card = cards.build(incident, adapter.integration_id, {"template": TEMPLATE})
    assert card.title == "【严重】checkout CPU > 95% on db-1" and card.description == ""
    assert card.facts[:2] == [("服务 Service", "checkout"), ("区域 Region", "cn-north-1")] and card.buttons
    payload = html.unescape(json.dumps(adapter.preview("user", card).payload, ensure_ascii=False))
    assert "checkout" in payload and "cn-north-1" in payload and "value-a" not in payload
    adapter.send_card("user", _recipient(adapter, sim), card, "content-template")


def test_a_template_failing_at_send_time_falls_back_to_the_default_card_and_says_why(aws_env):
    failing = {"content": "{{ labels.service * 100 }}{% for a in alerts %}{{ a.summary * 40 }}{% endfor %}"}
    card = cards.build(with_alerts(INCIDENT, alert_group(100, "x" * 200)), "int_x", {"template": failing})
    assert card.template_error and card.title == INCIDENT["title"] and ("service", "checkout") in card.facts


@pytest.mark.parametrize(("lines", "shown", "left"), [(6, 6, 0), (8, 5, 3)])
def test_a_wecom_template_makes_the_whole_custom_area(aws_env, lines, shown, left):
    """Seed 003 FAQ 3: the custom area shows at most 8 lines (title, sub-title, 6 content lines)."""
    template = {"content": "\n".join(f"第 {n} 行 Line: {{{{ labels.service }}}} {n}" for n in range(1, lines + 1))}
    card = wecom.render(cards.build(INCIDENT, "int_x", {"template": template}), "task")
    keys = [line["keyname"] for line in card["horizontal_content_list"]]
    assert keys[:shown] == [f"第 {n} 行 Line" for n in range(1, shown + 1)]
    assert keys[shown:] == (["更多 More"] if left else [])
    assert not left or card["horizontal_content_list"][-1]["value"] == f"还有 {left} 项 · +{left} more"
