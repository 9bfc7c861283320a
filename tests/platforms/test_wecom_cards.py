"""WeCom card content: producer text in the group summary's markdown shows as written, our link still works."""
from __future__ import annotations

import re
from typing import Iterator

import pytest

from chalicelib.core import cards
from chalicelib.core.callback import RoomPlan
from chalicelib.platforms.wecom.adapter import Credentials, Settings, WeCom
from chalicelib.platforms.wecom.cards import summary
from devkit.simulators.wecom.simulator import WeComSimulator

HOSTILE = ('db down [点这里 click](https://evil.example/x) <font color="warning">紧急</font> <@all> <@ZhangWei> '
           '**bold** `code`\n> quoted\n# heading')
# WeCom markdown's active parts: links, tags (<font>, <@mention>), bold and code spans, and lines that start a
# quote or heading.
LINK = re.compile(r"\[([^\]]*)\]\(([^)]*)\)")
ACTIVE = re.compile(r"<\s*/?\s*(font|@)|\*\*|`")


def _incident(**fields) -> dict:
    return {"id": "inc-9", "title": HOSTILE, "severity": "critical", "status": "acknowledged", "description": "",
            "labels": {}, "started_at": "2026-11-22T10:00:00Z",
            "last_action": {"action": "ack", "name": "Eve <@all> [x](https://evil.example)",
                            "at": "2026-11-22T10:05:00Z"},
            **fields}


def test_producer_text_in_a_group_summary_cannot_link_colour_or_mention(aws_env):
    text = summary(cards.build(_incident(), "int_wc", {}))
    title_line, *rest = text.split("\n")
    assert LINK.findall(text) == [("查看详情 Details", "https://duty.example.com/app/int_wc/incidents/inc-9")]
    assert ACTIVE.findall(text.replace(title_line, title_line[2:-2])) == []  # only our own ** around the title
    assert [line[0] for line in rest] == [">", ">", ">", "["]  # no line of the producer's own
    for shown in ("点这里 click", "https://evil.example/x", "紧急", "@all", "@ZhangWei", "bold", "code", "quoted",
                  "Eve"):
        assert shown in text


@pytest.fixture
def sim() -> Iterator[WeComSimulator]:
    simulator = WeComSimulator(ticket_interval=None)
    with simulator.serving():
        yield simulator


def test_the_longest_title_and_name_still_fit_wecoms_markdown_limit(aws_env, sim: WeComSimulator):
    corp = sim.corp
    adapter = WeCom("int_wc", Credentials(corp_id=corp.corp_id, agent_id=corp.agent_id, secret=corp.secret,
                                          token=corp.token, encoding_aes_key=corp.encoding_aes_key),
                    Settings(api_base=sim.api_base, war_room=True))
    room = adapter.open_room(RoomPlan(key="a" * 32, title="作战室", title_en="War room", description="",
                                      members=["ZhangWei", "LiNa"]))
    last = {"action": "ack", "name": "张" * 128, "at": "2026-11-22T10:05:00Z"}  # names: 128 characters at most
    incident = _incident(title="[数据库]" * 102, last_action=last)  # titles: 512 characters at most
    adapter.send_card("chat", room.chat_id, cards.build(incident, "int_wc", {}), "k")
    sent = sim.state()["spaces"][f"chat:{room.chat_id}"][-1]["content"]["content"]
    assert sent.startswith("**[严重] ［数据库］") and "…**" in sent and len(sent.encode()) <= 2048


def test_ordinary_titles_are_left_as_they_are(aws_env):
    assert summary(cards.build(_incident(title="CPU > 95% on db-1 (p99 < 2s) #42"), "int_wc", {})).startswith(
        "**[严重] CPU > 95% on db-1 (p99 ＜ 2s) #42**")
