"""An incident's picture as a person sees it in the simulated clients: on the DingTalk and Feishu cards, and
behind the WeCom card's 图片 line (its button card has no picture of its own)."""
from __future__ import annotations

import pytest

import tests.browser.needs  # noqa: F401 - first: skips this module when chromium or playwright is missing

# isort: split
from playwright.sync_api import expect

from devkit.console import Console
from devkit.simulators import SIMULATORS
from devkit.simulators.media import SAMPLE_PATH
from devkit.walkthrough import send_incident
from tests.browser.clients import SLOW, Client, screenshot
from tests.browser.test_card_flows import DINGTALK, FEISHU, WECOM, Platform
from tests.live_runtime import queue_url

SAMPLE_WIDTH = 480  # devkit.simulators.media.sample_png's


@pytest.fixture
def world(spec: Platform, console: Console, runtime) -> dict:
    """The platform set up by its seed guide, its integration allowed to fetch from the local runtime (the
    sample picture is served by the simulators, on 127.0.0.1)."""
    done = SIMULATORS[spec.name].setup(console, link=False)
    status, _ = console.api("PATCH", f"/integrations/{done['integration']['id']}",
                            {"settings": {"image_hosts": ["127.0.0.1"]}})
    assert status == 200
    return done


def _send(spec: Platform, world: dict, runtime, number: int, to_group: bool) -> str:
    incident_id = f"inc-pic-{spec.name}-{number}"
    title = f"{incident_id}: 5xx rate above 5%"
    chats = [{"integration_id": world["integration"]["id"], "chat_id": world["group"]}] if to_group else []
    send_incident(queue_url(), incident_id, [] if to_group else [spec.me.key], chats, title=title,
                  image_url=runtime.simulator_url + SAMPLE_PATH)
    return title


@pytest.mark.parametrize("spec", [DINGTALK, FEISHU], ids=lambda p: p.name)
def test_a_group_card_shows_the_incident_picture(simulator, spec, world, runtime):
    client = Client(simulator, spec.panel)
    title = _send(spec, world, runtime, 1, to_group=True)
    client.be(spec.me.label).chat("SRE 值班群")
    picture = client.card(title).locator("img.picture")
    expect(picture).to_be_visible(timeout=SLOW)
    expect(picture).to_have_js_property("naturalWidth", SAMPLE_WIDTH)  # the uploaded bytes, loaded as the client would
    screenshot(client.card(title), f"{spec.name}-card-picture")


@pytest.mark.parametrize("spec", [WECOM], ids=lambda p: p.name)
def test_the_wecom_card_links_its_picture(simulator, spec, world, runtime):
    client = Client(simulator, WECOM.panel)
    client.sign_in(WECOM.me, world["integration"]["urls"]["web_home"])
    title = _send(WECOM, world, runtime, 1, to_group=False)
    client.chat(WECOM.direct.format(WECOM.me.key))
    link = client.card(title).get_by_role("link", name="查看图片 View")
    expect(link).to_be_visible(timeout=SLOW)
    screenshot(client.card(title), "wecom-card-picture")
    with simulator.context.expect_page() as opened:
        link.click()
    shown = opened.value
    shown.wait_for_load_state()
    assert shown.evaluate("document.images[0].naturalWidth") == SAMPLE_WIDTH

