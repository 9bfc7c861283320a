"""The Feishu card: producer text shown literally, never as markup; the English side entirely English."""
from __future__ import annotations

import html
import json
import re

import pytest

from chalicelib.core import cards, wording
from chalicelib.platforms.feishu.cards import render

HOSTILE = {
    "title": "db down <at id=all></at> [click](https://evil.example.com)",
    "description": "<at id=all></at> see [here](https://evil.example.com) **now** :OK:\n<font color='red'>x</font>",
    "labels": {"<at id=all></at>": "[pay](https://evil.example.com)", "team*": "<font color=red>sre</font>",
               "runbook": "https://evil.example.com/x_y ~~old~~ `code` \\n # h"},
}
ATTACKS = ("<at", "<font", "](", "https://", "**now", ":OK:", "~~", "`")


def _incident(**fields) -> dict:
    return {"id": "inc-1", "title": "CPU high", "severity": "critical", "status": "triggered", **fields}


def _texts(node, tag: str) -> list[str]:
    """Every ``content`` of a text object of the given tag, anywhere in the card."""
    if isinstance(node, dict):
        found = [node["content"]] if node.get("tag") == tag and isinstance(node.get("content"), str) else []
        return found + [text for value in node.values() for text in _texts(value, tag)]
    if isinstance(node, list):
        return [text for value in node for text in _texts(value, tag)]
    return []


def test_producer_text_cannot_mention_link_or_format(aws_env):
    incident = _incident(**HOSTILE, last_action={"action": "ack", "name": "<at id=all></at>[x](https://e.com)",
                                                 "at": "2026-11-22T10:00:00Z"})
    card = render(cards.build(incident, "int_fs", {}))
    markdown = _texts(card, "lark_md")
    for content in markdown:
        ours = re.sub(r"\*\*(状态|开始|处理人|屏蔽至|Status|Started|By|Silenced until)\*\*\n", "", content)
        ours = re.sub(r"^\*\*(.*?)\*\*: ", r"\1: ", ours, flags=re.M)  # a label's key is ours to bold
        assert not any(attack in ours for attack in ATTACKS), content
    shown = html.unescape("\n".join(markdown))  # what Feishu's markdown displays
    for key, value in HOSTILE["labels"].items():
        assert f"{key}: {value.replace(chr(10), ' ')}" in shown.replace("**", "")
    assert "<at id=all></at>[x](https://e.com) acknowledged at" in shown
    plain = _texts(card, "plain_text")
    assert HOSTILE["description"] in plain and f"[严重] {HOSTILE['title']}" in plain  # plain text: no markup
    details = [b for b in card["i18n_elements"]["en_us"][-1]["actions"] if b.get("url")]
    page = "https://duty.example.com/app/int_fs/incidents/inc-1"
    assert details == [{"tag": "button", "type": "default", "url": page,
                        "text": {"tag": "plain_text", "content": "Details"}}]


@pytest.mark.parametrize("action", ["ack", "resolve", "silence"])
def test_the_english_card_says_who_acted_in_english(aws_env, action):
    incident = _incident(last_action={"action": action, "name": "Alice", "at": "2026-11-22T10:00:00Z"})
    card = render(cards.build(incident, "int_fs", {}))
    english = json.dumps(card["i18n_elements"]["en_us"][0], ensure_ascii=False)
    chinese = json.dumps(card["i18n_elements"]["zh_cn"][0], ensure_ascii=False)
    by = html.unescape(next(t for t in _texts(card["i18n_elements"]["en_us"][0], "lark_md") if "**By**" in t))
    assert by == f"**By**\nAlice {wording.ACTION_TEXT[action][1]} at 11-22 18:00 (UTC+8)"
    assert not re.search(r"[\u4e00-\u9fff]", english) and "处理人" in chinese
