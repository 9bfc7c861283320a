"""Browser tests: Debian's chromium, headless, driven by Playwright against the running system.

Playwright never downloads a browser here: it drives /usr/bin/chromium. Each test module imports
``tests.browser.needs`` first, which skips it (saying why) when chromium or playwright is missing;
so this file imports playwright only inside the fixtures.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.live_runtime import console, runtime  # noqa: F401 - the package's fixtures

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
# without the background-networking flags chromium keeps calling home, which a closed network stalls
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def devices(browser: Browser, runtime):  # noqa: F811 - runtime is the fixture imported above
    """Opens the simulator page on a new device: a browser profile of its own (cookies, storage), as
    each person has their own phone. Chinese first, like the users."""
    contexts = []

    def open_simulator() -> Page:
        context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(runtime.simulator_url + "/")
        return page

    yield open_simulator
    for context in contexts:
        context.close()


@pytest.fixture
def simulator(devices) -> Page:
    """The simulator page, where a person plays each platform's client."""
    return devices()
