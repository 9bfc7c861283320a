"""A person in the simulated DingTalk, Feishu and WeCom clients and the web app, in a real browser: link
by opening the app from 工作台, follow a card to its incident page, act from the page and from the card,
open a war room, and have a click made before linking applied once linked."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

import tests.browser.needs  # noqa: F401 - first: skips this module when chromium or playwright is missing

# isort: split
from playwright.sync_api import Page, expect

from devkit.console import Console
from devkit.simulators import SIMULATORS
from devkit.walkthrough import send_incident
from tests.browser.clients import SLOW, Client, Person, screenshot
from tests.live_runtime import queue_url


@dataclass(frozen=True)
class Platform:
    """What differs between the clients: who is in them, where things are and what they are called."""

    name: str
    panel: str
    me: Person  # the person most tests act as (the first one the seed guide pages)
    partner: Person  # a second responder, for war rooms (WeCom groups need two people)
    account: str  # how the linking page names my platform account
    direct: str  # text of a person's 1:1 chat in the chat list, for their key
    details: str | None  # the card's link to the incident page (None: the whole card opens it)
    more: str  # the summary of the card's menu of longer silences
    room: str  # how the chat list marks a war room
    stranger: Person | None = None  # someone who never linked, in a group that gets cards
    link_in_direct: bool = False  # the link an unlinked click gets comes as a direct message


DINGTALK = Platform("dingtalk", "#dt-sim", Person("张伟", "zhangwei"), Person("李娜", "lina"),
                    "钉钉账号：张伟", "单聊 1:1 robot chat ({})", "查看详情", "更多屏蔽", "场景群 Scene group",
                    stranger=Person("王芳", "wangfang"))
FEISHU = Platform("feishu", "#fs-sim", Person("陈静", "chenjing"), Person("刘洋", "liuyang"),
                  "飞书账号：陈静", "单聊 1:1 with the bot ({})", "查看详情", "···", "应用创建 Created by the app",
                  stranger=Person("赵磊", "zhaolei"), link_in_direct=True)
WECOM = Platform("wecom", "#wc-sim", Person("张伟", "ZhangWei", "13700000001"),
                 Person("李娜", "LiNa", "13700000002"), "企业微信账号：ZhangWei", "{}", None, "···",
                 "应用群聊 App group chat")
# one per simulator in the registry: a registered platform without its client here fails at collection
CLIENTS = {spec.name: spec for spec in (DINGTALK, FEISHU, WECOM)}
ALL = pytest.mark.parametrize("spec", [CLIENTS[name] for name in SIMULATORS], ids=lambda p: p.name)


@pytest.fixture(scope="module")
def worlds(console: Console) -> dict:
    """Each platform set up once by its seed guide, members registered but nobody linked: people link
    themselves by opening the app."""
    return {}


@pytest.fixture
def world(spec: Platform, worlds: dict, console: Console) -> dict:
    if spec.name not in worlds:
        worlds[spec.name] = SIMULATORS[spec.name].setup(console, link=False)
    return worlds[spec.name]


@pytest.fixture
def client(simulator, spec: Platform) -> Client:
    return Client(simulator, spec.panel)


def _sign_in(client: Client, person: Person, world: dict) -> Page:
    return client.sign_in(person, world["integration"]["urls"]["web_home"])


def _incident(spec: Platform, world: dict, number: int, to: tuple[Person, ...] = (), to_group: bool = False) -> str:
    """Send an incident through the notifications queue; returns its title, which finds its cards."""
    incident_id = f"inc-br-{spec.name}-{number}"
    title = f"{incident_id}: CPU > 95%"
    members = [person.key for person in to]
    chats = [{"integration_id": world["integration"]["id"], "chat_id": world["group"]}] if to_group else []
    send_incident(queue_url(), incident_id, members, chats, title=title)
    return title


def _my_card(client: Client, spec: Platform, world: dict, number: int, partner_device: Page | None = None) -> str:
    """I am signed in, an incident is sent to me (and to my partner, signed in on their own device),
    and its card is in my 1:1 chat; returns its title."""
    if partner_device:
        _sign_in(Client(partner_device, spec.panel), spec.partner, world)
    _sign_in(client, spec.me, world)
    title = _incident(spec, world, number, (spec.me, spec.partner) if partner_device else (spec.me,))
    client.chat(spec.direct.format(spec.me.key))
    expect(client.card(title)).to_contain_text("待处理", timeout=SLOW)
    return title


@ALL
def test_opening_the_app_from_the_workbench_links_the_person(client, spec, world):
    app = _sign_in(client, spec.me, world)
    expect(app.locator("main")).to_contain_text(spec.account)
    screenshot(app, f"{spec.name}-linked")


@ALL
def test_card_opens_the_incident_page_and_acknowledging_there_updates_the_card(client, spec, world):
    title = _my_card(client, spec, world, 1)
    page = client.follow(title, spec.details)
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator(".status")).to_have_text("待处理")
    page.get_by_role("button", name="认领").click()
    expect(page.locator(".status")).to_have_text("处理中")
    expect(page.locator("ol")).to_contain_text(f"{spec.me.name} · 认领")
    screenshot(page, f"{spec.name}-incident-acknowledged")
    expect(client.card(title)).to_contain_text("处理中", timeout=SLOW)
    expect(client.card(title).get_by_role("button", name="认领")).to_have_count(0)


@ALL
def test_card_buttons_acknowledge_silence_and_close_and_the_page_follows(client, spec, world):
    title = _my_card(client, spec, world, 2)
    client.press(title, "认领")
    expect(client.card(title)).to_contain_text("处理中", timeout=SLOW)
    page = client.follow(title, spec.details)
    expect(page.locator(".status")).to_have_text("处理中")
    expect(page.locator("ol")).to_contain_text(f"{spec.me.name} · 认领")

    client.pick(title, spec.more, "屏蔽 6 小时")
    expect(client.card(title)).to_contain_text("屏蔽至", timeout=SLOW)
    page.reload()
    expect(page.locator("section").first).to_contain_text("屏蔽至")
    expect(page.locator("ol")).to_contain_text(f"{spec.me.name} · 屏蔽 360 分钟")

    client.press(title, "关闭")
    expect(client.card(title)).to_contain_text("已关闭", timeout=SLOW)
    expect(client.card(title).get_by_role("button", name="认领")).to_have_count(0)
    page.reload()
    expect(page.locator(".status")).to_have_text("已关闭")
    expect(page.locator("main")).to_contain_text("故障已关闭，无需操作。")
    screenshot(client.root, f"{spec.name}-card-closed")


def _war_room_holds_the_incident(client: Client, spec: Platform, title: str) -> None:
    room = client.root.locator(".chat", has_text=f"[作战室] {title.split(':')[0]}")  # cut to the platform's limit
    expect(room).to_contain_text(spec.room, timeout=SLOW)
    expect(room).to_contain_text(f"{spec.me.name}、{spec.partner.name}")
    room.click()
    expect(client.card(title)).to_contain_text("待处理", timeout=SLOW)


@ALL
def test_the_card_button_opens_a_war_room_holding_the_incident(client, spec, world, devices):
    title = _my_card(client, spec, world, 3, devices())
    client.press(title, "作战室")
    _war_room_holds_the_incident(client, spec, title)
    screenshot(client.root, f"{spec.name}-war-room")


@ALL
def test_the_incident_page_opens_a_war_room_holding_the_incident(client, spec, world, devices):
    title = _my_card(client, spec, world, 4, devices())
    page = client.follow(title, spec.details)
    page.get_by_role("button", name="开启作战室").click()
    expect(page.locator("ol")).to_contain_text(f"{spec.me.name} · 开启作战室")
    expect(page.get_by_role("button", name="开启作战室")).to_have_count(0)
    _war_room_holds_the_incident(client, spec, title)


@pytest.mark.parametrize("spec", [DINGTALK, FEISHU], ids=lambda p: p.name)  # WeCom cards go to linked people only
def test_an_unlinked_click_is_kept_and_applied_after_signing_in(client, spec, world, console):
    stranger = spec.stranger
    title = _incident(spec, world, 5, to_group=True)
    client.be(stranger.label).chat("SRE 值班群")
    client.press(title, "认领")
    if spec.link_in_direct:
        client.chat(spec.direct.format(stranger.key))
    app = client.follow("未关联应用", "/app/")

    expect(app.locator(".notice")).to_contain_text(f"已执行您在卡片上的操作：认领 · {title}")
    expect(app.locator("h1")).to_have_text(f"已关联 {stranger.name}")
    screenshot(app, f"{spec.name}-click-applied-after-linking")
    client.chat("SRE 值班群")
    expect(client.card(title)).to_contain_text("处理中", timeout=SLOW)
    incident_id = title.split(":")[0]
    assert console.api("GET", f"/incidents/{incident_id}")[1]["timeline"][-1]["by"] == stranger.key
