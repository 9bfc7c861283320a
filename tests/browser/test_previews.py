"""A card preview of a 1,000-alert incident on each simulator's page, in its 预览 Preview chat: drawn the way
the client draws the real message, buttons inert, with the "还有 N 项 · +N more" line and the size under it.

The preview comes from the integration's adapter (what ``POST /integrations/{id}/preview`` answers) and goes
to the simulator alone, served in this process; the live runtime is not needed."""
from __future__ import annotations

import re

import pytest

import tests.browser.needs  # noqa: F401 - first: skips this module when chromium or playwright is missing

# isort: split
import requests
from playwright.sync_api import Browser, expect

from tests.browser.clients import screenshot
from tests.conftest import TEST_ENVIRONMENT
from tests.devkit.test_simulator_previews import _answer
from tests.platforms.test_adapter_contract import platform  # noqa: F401 (the fixture)
from tests.platforms.test_robot_contract import robot  # noqa: F401 (the fixture)

PANELS = {"dingtalk": "#dt-sim", "feishu": "#fs-sim", "wecom": "#wc-sim"}


@pytest.fixture(autouse=True)
def _test_environment(monkeypatch):
    """The tests' own AWS environment (moto, their table prefix) while each test runs: this package's live
    runtime, when another module of the same worker started it, has put its own in the process."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION",
                 "DUTYBRIDGE_PREFIX", "ADMIN_TOKEN", "PUBLIC_BASE_URL"):
        monkeypatch.setenv(name, TEST_ENVIRONMENT[name])
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("ADMIN_TOKEN_PARAMETER", raising=False)


def _open_preview_chat(browser: Browser, sim, panel: str):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(sim.mounted("/"))
    page.locator(f'{panel} [data-chat="preview"]').click()
    return context, page


@pytest.mark.parametrize("kind", ["user", "chat"])
def test_a_1000_alert_preview_shows_as_the_client_would_with_what_it_left_out(browser, platform, kind):  # noqa: F811
    adapter, sim = platform
    answer = _answer(adapter, kind)
    assert requests.post(sim.mounted("/_sim/preview"), json=answer, timeout=10).json()["ok"]
    panel = PANELS[adapter.name]
    context, page = _open_preview_chat(browser, sim, panel)
    try:
        preview = page.locator(f"{panel} [data-preview]").first
        expect(preview.locator(".card, .bubble").first).to_be_visible()  # the client's own card or message drawing
        more = answer["more"]
        assert re.fullmatch(r"还有 \d+ 项 · \+\d+ more", more), more
        line = preview.locator(".preview-line")
        expect(line).to_contain_text(more)
        expect(line).to_contain_text(f"{answer['size']['value']} / {answer['size']['limit']}")
        expect(line).to_contain_text(f"告警 alerts: {answer['cut']['alerts']}")
        assert preview.locator("[data-click]").count() == 0  # its buttons do nothing: there is no such message
        screenshot(page.locator(panel), f"{adapter.name}-preview-{kind}-1000-alerts")
    finally:
        context.close()


def test_a_robot_preview_shows_as_its_group_would_see_it(browser, robot):  # noqa: F811
    adapter, _, sim = robot
    answer = _answer(adapter, "chat")
    assert requests.post(sim.mounted("/_sim/preview"), json=answer, timeout=10).json()["ok"]
    panel = PANELS[adapter.name.removesuffix("-robot")]
    context, page = _open_preview_chat(browser, sim, panel)
    try:
        preview = page.locator(f"{panel} [data-preview]").first
        expect(preview).to_contain_text("告警机器人")
        expect(preview.locator(".preview-line")).to_contain_text(answer["more"])
        assert "&#" not in preview.inner_text()  # Feishu's card markdown shows an entity as its character
        screenshot(page.locator(panel), f"{adapter.name}-preview-1000-alerts")
    finally:
        context.close()
