"""A person in the simulated DingTalk and Feishu clients and the web app, in a real browser: link by
opening the app from 工作台, follow a card to its incident page, act from the page and from the card,
open a war room, and have a click made before linking applied once linked."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest
from playwright.sync_api import Page, expect

from devkit.walkthrough import send_incident, setup_dingtalk, setup_feishu
from tests.browser.clients import SLOW, Client
from tests.browser.conftest import screenshot
from tests.live_runtime import queue_url


@dataclass(frozen=True)
class Platform:
    """What differs between the clients: where things are and what they are called."""

    name: str
    panel: str
    setup: Callable
    account: str  # the linking page's "<platform>账号"
    me: tuple[str, str]  # picker label, member name: the person linked in most tests
    stranger: tuple[str, str, str]  # picker label, member name, member id: never links before test 5
    direct: str  # the 1:1 chat's entry, for a user key
    more: str  # the summary of the card's menu of longer silences
    room: str  # how the chat list marks a war room
    link_in_direct: bool  # the linking link of an unlinked click comes as a direct message


DINGTALK = Platform("dingtalk", "#dt-sim", setup_dingtalk, "钉钉账号：张伟", ("张伟 zhangwei", "张伟"),
                    ("王芳 wangfang", "王芳", "wangfang"), "单聊 1:1 robot chat ({})", "更多屏蔽",
                    "场景群 Scene group", link_in_direct=False)
FEISHU = Platform("feishu", "#fs-sim", setup_feishu, "飞书账号：陈静", ("陈静 chenjing", "陈静"),
                  ("赵磊 zhaolei", "赵磊", "zhaolei"), "单聊 1:1 with the bot ({})", "···",
                  "应用创建 Created by the app", link_in_direct=True)


@pytest.fixture(scope="module", params=[DINGTALK, FEISHU], ids=lambda p: p.name)
def platform(request, console) -> tuple[Platform, dict]:
    """The platform set up by its seed guide, members registered but nobody linked: people link
    themselves by opening the app."""
    return request.param, request.param.setup(console, link=False)


@pytest.fixture
def client(simulator, platform) -> Client:
    return Client(simulator, platform[0].panel)


def _me(client: Client, platform: tuple[Platform, dict]) -> Page:
    spec, world = platform
    return client.sign_in(spec.me[0], spec.me[1], world["integration"]["urls"]["web_home"])


def _incident(platform: tuple[Platform, dict], number: int, to_me: bool = True, to_group: bool = False) -> str:
    """Send an incident through the notifications queue; returns its title, which finds its cards."""
    spec, world = platform
    incident_id = f"inc-br-{spec.name}-{number}"
    title = f"CPU > 95% on {incident_id}"
    members = [world["people"][0]] if to_me else []
    chats = [{"integration_id": world["integration"]["id"], "chat_id": world["group"]}] if to_group else []
    send_incident(queue_url(), incident_id, members, chats, title=title)
    return title


def _my_chat(client: Client, platform: tuple[Platform, dict]) -> Client:
    spec, world = platform
    return client.chat(spec.direct.format(world["people"][0]))


def test_opening_the_app_from_the_workbench_links_the_person(client, platform):
    app = _me(client, platform)
    expect(app.locator("main")).to_contain_text(platform[0].account)
    screenshot(app, f"{platform[0].name}-linked")


def test_card_link_opens_the_incident_page_and_acknowledging_there_updates_the_card(client, platform):
    _me(client, platform)
    title = _incident(platform, 1)
    _my_chat(client, platform)
    expect(client.card(title)).to_contain_text("待处理", timeout=SLOW)

    page = client.follow(title, "查看详情")
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator(".status")).to_have_text("待处理")
    page.get_by_role("button", name="认领").click()
    expect(page.locator(".status")).to_have_text("处理中")
    expect(page.locator("ol")).to_contain_text(f"{platform[0].me[1]} · 认领")
    screenshot(page, f"{platform[0].name}-incident-acknowledged")
    expect(client.card(title)).to_contain_text("处理中", timeout=SLOW)
    expect(client.card(title).get_by_role("button", name="认领")).to_have_count(0)


def test_card_buttons_acknowledge_silence_and_close_and_the_page_follows(client, platform):
    _me(client, platform)
    title = _incident(platform, 2)
    _my_chat(client, platform)
    client.press(title, "认领")
    expect(client.card(title)).to_contain_text("处理中", timeout=SLOW)
    page = client.follow(title, "查看详情")
    expect(page.locator(".status")).to_have_text("处理中")
    expect(page.locator("ol")).to_contain_text(f"{platform[0].me[1]} · 认领")

    client.pick(title, platform[0].more, "屏蔽 6 小时")
    expect(client.card(title)).to_contain_text("屏蔽至", timeout=SLOW)
    page.reload()
    expect(page.locator("section").first).to_contain_text("屏蔽至")
    expect(page.locator("ol")).to_contain_text("屏蔽 360 分钟")

    client.press(title, "关闭")
    expect(client.card(title)).to_contain_text("已关闭", timeout=SLOW)
    expect(client.card(title).get_by_role("button", name="认领")).to_have_count(0)
    page.reload()
    expect(page.locator(".status")).to_have_text("已关闭")
    expect(page.locator("main")).to_contain_text("故障已关闭，无需操作。")
    screenshot(client.page, f"{platform[0].name}-card-closed")


def test_war_room_button_opens_a_group_holding_the_card(client, platform):
    _me(client, platform)
    title = _incident(platform, 3)
    _my_chat(client, platform)
    expect(client.card(title)).to_contain_text("待处理", timeout=SLOW)
    client.press(title, "作战室")

    room = client.root.locator(".chat", has_text="[作战室]")  # titles are cut to the platform's limit
    expect(room).to_contain_text(platform[0].room, timeout=SLOW)
    room.click()
    expect(client.card(title)).to_contain_text("待处理", timeout=SLOW)
    screenshot(client.page, f"{platform[0].name}-war-room")


def test_an_unlinked_click_is_kept_and_applied_after_signing_in(client, platform, console):
    spec, _ = platform
    label, name, member_id = spec.stranger
    title = _incident(platform, 4, to_me=False, to_group=True)
    client.be(label).chat("SRE 值班群")
    client.press(title, "认领")
    if spec.link_in_direct:
        client.chat(spec.direct.format(member_id))
    app = client.follow("未关联应用", "/app/")

    expect(app.locator(".notice")).to_contain_text(f"已执行您在卡片上的操作：认领 · {title}")
    expect(app.locator("h1")).to_have_text(f"已关联 {name}")
    screenshot(app, f"{spec.name}-click-applied-after-linking")
    client.chat("SRE 值班群")
    expect(client.card(title)).to_contain_text("处理中", timeout=SLOW)
    incident_id = title.rsplit(" ", 1)[1]
    assert console.api("GET", f"/incidents/{incident_id}")[1]["timeline"][-1]["by"] == member_id
