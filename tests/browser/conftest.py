"""Browser tests: Debian's chromium, headless, driven by Playwright against the running system.

The whole package is skipped, saying why, when chromium or the playwright package is missing
(``make test`` installs chromium when it runs as root). Playwright never downloads a browser here.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
# without the background-networking flags chromium keeps calling home, which a closed network stalls
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return (f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
                "(make test does this when run as root)")
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing: pip install -r requirements-dev.txt"
    return None


if (missing := _missing()):
    pytest.skip(missing, allow_module_level=True)

from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright  # noqa: E402

from tests.live_runtime import console, runtime  # noqa: E402,F401 - the package's fixtures

expect.set_options(timeout=15_000)  # pages wait on SQS pollers and sign-in redirects: be patient


@pytest.fixture(scope="package")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def devices(browser: Browser, runtime):
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


def screenshot(what: Page | Locator, name: str) -> Path:
    """A whole page, or one element (a simulator panel), saved under artifacts/browser/ for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    what.screenshot(path=str(path), **({"full_page": True} if isinstance(what, Page) else {}))
    return path
