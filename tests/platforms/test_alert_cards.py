"""Alert-group incidents on every platform's card: the count always, the alerts that fit the platform's limits,
"还有 N 项 · +N more" linking to the incident page for the rest, and 取消屏蔽 while silenced."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from chalicelib.common import clock
from chalicelib.core import cards
from chalicelib.platforms.dingtalk import cards as dingtalk
from chalicelib.platforms.feishu import cards as feishu
from chalicelib.platforms.wecom import cards as wecom
from devkit.simulators.dingtalk.cards import MAX_VALUE_BYTES, check_param_map
from devkit.simulators.feishu.cards import check_card as feishu_check
from devkit.simulators.feishu.messages import MAX_BODY_BYTES
from devkit.simulators.wecom.cards import check_card as wecom_check
from devkit.simulators.wecom.messages import MAX_TEXT_BYTES
from tests.factories import alert_group, with_alerts
from tests.platforms.test_adapter_contract import LARGEST

# An alert summary as long as core.alerts keeps (512), CJK and full of what each platform must escape.
HOSTILE_SUMMARY = ("磁盘[满](https://evil.example) *_<at id=all>\\ " * 20)[:512]
PAGE = "https://duty.example.com/app/int_x/incidents/inc-contract"


@pytest.fixture
def thousand(aws_env) -> cards.Card:
    """The largest incident a producer may send, following a group of 1,000 alerts, silenced in Alertmanager."""
    incident = with_alerts(LARGEST, alert_group(1000, HOSTILE_SUMMARY, resolved=10))
    incident.update(silenced_until=clock.iso(clock.now() + 3600),
                    silence={"id": "4c2f1b9e-8a3d-4f7a-9d1e-1f2a3b4c5d6e", "backend": "alertmanager"})
    return cards.build(incident, "int_x", {})


def _more(text: str) -> int:
    """N of the "还有 N 项 · +N more" a card shows."""
    found = re.search(r"还有 (\d+) 项 · \+(\d+) more", text)
    assert found and found[1] == found[2], text
    return int(found[1])


def test_dingtalk_alerts_fit_one_value_and_never_break_an_escape(thousand):
    params = dingtalk.card_params(thousand)
    check_param_map(params, "cardData.cardParamMap")  # what the simulator (and DingTalk) refuse beyond 1 KB
    alerts = params["alerts"]
    head, *lines, more = alerts.split("\n")
    labels = params["labels"].split("\n")
    assert "1000" in head and len(alerts.encode()) <= MAX_VALUE_BYTES and lines
    left = (1000 - len(lines)) + (50 - len(labels)) + 1  # alerts, labels and the description's rest
    assert more == f"[还有 {left} 项 · +{left} more]({PAGE})"
    for line in lines:  # whole lines: every mark of the producer's escaped, nothing dangling at the end
        assert re.search(r"(?<!\\)[\[\]()*_<>]", line.split(" · ", 2)[2].replace("…", "")) is None, line
        assert not line.endswith("\\")
    assert (params["can_unsilence"], params["can_silence"]) == ("true", "false")
    assert params["silenced_until"].endswith("· ID 4c2f1b9e-8a3d-4f7a-9d1e-1f2a3b4c5d6e")


def test_dingtalk_card_without_a_group_says_only_what_it_left_out_below_the_labels(aws_env):
    params = dingtalk.card_params(cards.build({**LARGEST, "silenced_until": clock.iso(clock.now() + 60)}, "int_x", {}))
    left = 50 - len(params["labels"].split("\n")) + 1
    assert params["alerts"] == f"[还有 {left} 项 · +{left} more]({PAGE})"
    assert params["can_unsilence"] == "true" and "ID" not in params["silenced_until"]


def test_dingtalk_template_shows_the_alerts_and_offers_unsilence_while_keeping_every_old_variable():
    template = json.loads((Path(__file__).parents[2] / "docs" / "dingtalk" / "card-template.json").read_text("utf-8"))
    old = {"title", "severity", "severity_text", "status", "status_text", "description", "labels", "started_at",
           "acted_by", "silenced_until", "incident_url", "can_ack", "can_resolve", "can_silence", "can_war_room",
           "notice"}
    assert old | {"alerts", "can_unsilence", "image"} == set(template["variables"])
    layout = json.dumps(template["layout"], ensure_ascii=False)
    assert '{"type": "markdown", "text": "{{alerts}}"}' in layout
    (buttons,) = [item["items"] for item in template["layout"] if item["type"] == "buttons"]
    unsilence = {"text": "取消屏蔽 Unsilence", "actionId": "unsilence", "params": {}, "visible": "{{can_unsilence}}"}
    assert unsilence in buttons


def test_feishu_alerts_fit_each_element_and_the_body_limit_in_both_languages(thousand):
    card = feishu.render(thousand)
    feishu_check(card)
    body = {"receive_id": "ou_" + "x" * 60, "msg_type": "interactive", "uuid": "u" * 50,
            "content": json.dumps(card, ensure_ascii=False)}
    assert len(json.dumps(body, ensure_ascii=False).encode()) <= MAX_BODY_BYTES
    for lang, status in (("zh_cn", "触发"), ("en_us", "firing")):
        texts = [e["text"]["content"] for e in card["i18n_elements"][lang] if e.get("text", {}).get("tag") == "lark_md"]
        (alerts,) = [t for t in texts if "1000 alerts" in html.unescape(t)]
        head, *lines = alerts.split("\n")
        assert len(alerts) <= feishu.MAX_TEXT and lines and all(line.startswith(status) for line in lines)
        labels = [t for t in texts if html.unescape(t).startswith("**label_")]
        shown_labels = len(labels[0].split("\n")) if labels else 0
        left = (1000 - len(lines)) + (50 - shown_labels) + 1  # alerts, labels and the description's rest
        assert texts[-1] == f"[还有 {left} 项 · +{left} more]({PAGE})"
        assert not any(attack in "".join(lines) for attack in ("<at", "](", "**", "*_"))
        buttons = [a for a in card["i18n_elements"][lang][-1]["actions"] if a["tag"] == "button"]
        assert {"action": "unsilence", "incident_id": "inc-contract"} in [b.get("value") for b in buttons]
        assert not any(b.get("value", {}).get("action") == "silence" for b in buttons)
        assert not any(a["tag"] == "overflow" for a in card["i18n_elements"][lang][-1]["actions"])
    assert "ID 4c2f1b9e&#45;8a3d" in json.dumps(card, ensure_ascii=False)


def test_wecom_card_keeps_to_six_lines_with_the_count_and_a_link_for_the_rest(thousand):
    card = wecom.render(thousand, "task1")
    wecom_check(card)  # the simulator's (and WeCom's) checks: at most 6 lines, a url on a link line
    lines = card["horizontal_content_list"]
    assert [line["keyname"] for line in lines] == [
        "开始 Started", "屏蔽至 Silenced", "告警 Alerts", "触发 firing", "触发 firing", "更多 More"]
    assert lines[2] == {"keyname": "告警 Alerts", "value": thousand.alert_count} and "1000" in lines[2]["value"]
    left = 998 + 50 + 1  # alerts, labels, the description's rest
    assert lines[5] == {"keyname": "更多 More", "value": f"还有 {left} 项 · +{left} more", "type": 1, "url": PAGE}
    assert lines[1]["value"].endswith("· ID 4c2f1b9e-8a3d-4f7a-9d1e-1f2a3b4c5d6e")
    keys = [b["key"] for b in card["button_list"]]
    assert "unsilence/0/inc-contract" in keys and not any(k.startswith("silence/") for k in keys)
    assert "action_menu" not in card
    assert wecom.parse_key("unsilence/0/inc-contract") == ("unsilence", None, "inc-contract")


def test_wecom_card_lists_every_alert_when_they_fit_and_counts_the_labels_left_out(aws_env):
    incident = with_alerts({**LARGEST, "description": ""}, alert_group(3, "disk full"))
    card = wecom.render(cards.build(incident, "int_x", {}), "task1")
    lines = card["horizontal_content_list"]
    assert [line["keyname"] for line in lines] == [
        "开始 Started", "告警 Alerts", "触发 firing", "触发 firing", "触发 firing", "更多 More"]
    assert lines[-1]["value"] == "还有 50 项 · +50 more"


def test_wecom_group_summary_has_the_count_and_a_few_alerts_within_its_bytes(thousand):
    text = wecom.summary(thousand)
    assert len(text.encode()) <= MAX_TEXT_BYTES and "1000 alerts" in text
    shown, labels = text.count("> 触发 firing"), text.count("> label_")
    left = 1000 - shown + 50 - labels
    assert shown >= 1 and _more(text) == left and f"+{left} more]({PAGE})" in text
