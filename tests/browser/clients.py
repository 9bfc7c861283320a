"""The simulated platform clients on the simulator page, as a person uses them: be someone, open a
chat, read its cards, press their buttons and follow their links, open the web app from 工作台."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

SLOW = 30_000  # cards travel through the SQS pollers: allow for a busy 2-core machine (ms)
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"

expect.set_options(timeout=15_000)  # pages wait on SQS pollers and sign-in redirects: be patient


def screenshot(what: Page | Locator, name: str) -> Path:
    """A whole page, or one element (a simulator panel), saved under artifacts/browser/ for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    what.screenshot(path=str(path), **({"full_page": True} if isinstance(what, Page) else {}))
    return path


@dataclass(frozen=True)
class Person:
    """Someone in a simulated organisation, registered as a member under the same id."""

    name: str
    key: str  # their user id on the platform, and their member id
    mobile: str | None = None  # typed to link, where the platform names nobody at sign-in (WeCom)

    @property
    def label(self) -> str:
        """How the clients' "who am I" picker shows them."""
        return f"{self.name} {self.key}"


@dataclass
class Client:
    """One platform's panel (``#dt-sim``, ``#fs-sim``, ``#wc-sim``) of the simulator page."""

    page: Page
    panel: str

    @property
    def root(self) -> Locator:
        return self.page.locator(self.panel)

    def be(self, label: str) -> Client:
        """Choose who "I" am in this client, by the picker's label ("张伟 zhangwei")."""
        self.root.locator("[data-role=viewer]").select_option(label=label)
        return self

    def open_app(self, web_home: str) -> Page:
        """工作台 → the app: the web app opens in a new tab and signs in through the platform's login."""
        self.root.locator("[data-role=web-home]").fill(web_home)
        with self.page.context.expect_page() as opened:
            self.root.locator("[data-act=open-app]").click()
        return opened.value

    def sign_in(self, person: Person, web_home: str) -> Page:
        """``person`` opens the app and is linked (the first time) or recognised (later); where the
        platform names nobody at sign-in, they type their mobile the first time."""
        app = self.be(person.label).open_app(web_home)
        heading = app.locator("h1")
        expect(heading).to_have_text(re.compile("已关联|未关联应用"))
        if person.mobile and heading.text_content() == "未关联应用":
            app.get_by_label("登记的手机号").fill(person.mobile)
            app.get_by_role("button", name="关联账号").click()
        expect(heading).to_have_text(f"已关联 {person.name}")
        return app

    def chat(self, text: str) -> Client:
        """Open the chat whose entry in the list shows ``text``."""
        self.root.locator(".chat", has_text=text).first.click()
        return self

    def card(self, text: str) -> Locator:
        """The newest message (a card, or a plain message's bubble) in the open chat that shows ``text``."""
        return self.root.locator("[data-role=messages]").locator(".card, .bubble").filter(has_text=text).last

    def press(self, card_text: str, button: str) -> None:
        """Press a button (by its text) on the newest card that shows ``card_text``."""
        self.card(card_text).get_by_role("button", name=button).click()

    def pick(self, card_text: str, menu: str, choice: str) -> None:
        """Open a card's menu (by its summary's text) and pick a choice from it."""
        card = self.card(card_text)
        card.locator("summary", has_text=menu).click()
        card.get_by_role("button", name=choice).click()

    def follow(self, card_text: str, link: str | None) -> Page:
        """Follow a link on a message, or with no ``link`` the card itself (WeCom's card_action): a new
        tab, as the clients open links in their browser."""
        card = self.card(card_text)
        with self.page.context.expect_page() as opened:
            if link:
                card.get_by_role("link", name=link).click()
            else:
                card.click(position={"x": 24, "y": 12})  # the card's corner: clear of its buttons and menu
        return opened.value
