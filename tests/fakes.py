"""A recording platform adapter for core tests: no network, errors on demand."""
from __future__ import annotations

import json
import time

from pydantic import BaseModel, ConfigDict

from chalicelib.core.callback import (
    CardId,
    ChatEvents,
    Click,
    ClickAnswer,
    ClickOutcome,
    PlatformUser,
    Reply,
    Room,
    RoomPlan,
)
from chalicelib.core.cards import Card, Preview
from chalicelib.core.fitting import fit
from chalicelib.platforms.base import Adapter, CommonSettings

FAKE_LINES = 5  # facts and alerts a fake card shows at most


class FakeCredentials(BaseModel):
    model_config = ConfigDict(extra="allow")


class FakeSettings(CommonSettings):
    model_config = ConfigDict(extra="allow")


class FakeCard(CardId):
    ref_key = "card"


class FakeAdapter(Adapter):
    name = "fake"
    label = ("fake", "fake")
    editions = {"standard": (None, None)}
    token_families = ("app",)
    Credentials = FakeCredentials
    Settings = FakeSettings
    sent: list = []
    updated: list = []
    fail_with: list = []  # errors raised by the next send/update/open_room calls, in order
    rooms: list = []  # the RoomPlans of the groups created
    room_seconds = 0.0  # how long creating a group takes
    joined: list = []  # (chat id, user ids) of every add_to_room call

    @classmethod
    def reset(cls) -> None:
        cls.sent, cls.updated, cls.fail_with, cls.rooms, cls.joined, cls.room_seconds = [], [], [], [], [], 0.0

    def _maybe_fail(self) -> None:
        if FakeAdapter.fail_with:
            raise FakeAdapter.fail_with.pop(0)

    def fetch_token(self, family: str) -> tuple[str, int]:
        return "fake-token", 7200

    def urls(self, base: str) -> dict[str, str]:
        return {"events": f"{base}/callbacks/{self.integration_id}/events"}

    def send_card(self, kind: str, target: str, card: Card, card_key: str) -> dict:
        self._maybe_fail()
        FakeAdapter.sent.append((kind, target, card, card_key))
        return FakeCard(card_key).entry()

    def update_card(self, ref: dict, card: Card) -> dict:
        self._maybe_fail()
        FakeAdapter.updated.append((ref, card))
        return ref

    def preview(self, kind: str, card: Card) -> Preview:
        """A fake card of at most FAKE_LINES facts and alerts, as the whole card's JSON."""
        shown = fit(card, lambda candidate: len(candidate.facts) + len(candidate.alerts) <= FAKE_LINES)
        payload = shown.model_dump(mode="json")
        return Preview(payload, len(json.dumps(payload).encode()), 100_000, "bytes of the fake card", shown)

    def parse_callback(self, request, endpoint) -> ChatEvents:
        return ChatEvents(reply=Reply(body={}))

    def click_reply(self, click: Click, outcome: ClickOutcome) -> ClickAnswer:
        return ClickAnswer(Reply(body={"ok": outcome.ok, "message": outcome.message}))

    def war_room_problem(self) -> str | None:
        return None if getattr(self.settings, "rooms", True) else "作战室未开启 (rooms are off)"

    def open_room(self, plan: RoomPlan) -> Room:
        self._maybe_fail()
        time.sleep(FakeAdapter.room_seconds)
        FakeAdapter.rooms.append(plan)
        return Room(chat_id=f"chat-{plan.key}", target=f"room:{plan.key}", title=plan.title,
                    refused=[m for m in plan.members if m.startswith("u-gone")])

    def add_to_room(self, chat_id: str, user_ids: list[str]) -> list[str]:
        self._maybe_fail()
        FakeAdapter.joined.append((chat_id, user_ids))
        return [u for u in user_ids if u.startswith("u-gone")]

    def user_by_mobile(self, mobile: str) -> str | None:
        return {"13800000001": "u-alice", "13800000002": "u-bob"}.get(mobile)

    def h5_user(self, code: str) -> PlatformUser:
        return PlatformUser(user_id="u-alice", name="Alice")
