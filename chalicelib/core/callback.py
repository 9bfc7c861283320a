"""The neutral callback contract between the platforms and the flows.

A platform's adapter turns what its callbacks carry into these shapes (a click, chat events, the
answer to send back); the flows decide and answer in them. Nothing here knows any platform.
"""
from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from chalicelib.core.cards import WAR_ROOM, Card

# Set in the ref ``send_card`` returns when an earlier attempt delivered the card but its answer was lost:
# the card exists, yet what it shows is unknown, so it is not recorded as showing the card just rendered.
FOUND_SENT = "found_sent"


@dataclass
class InboundRequest:
    method: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    received_at: float = field(default_factory=time.monotonic)  # when the route got it (time.monotonic)


@dataclass
class Reply:
    status: int = 200
    body: Any = ""
    content_type: str = "application/json"


@dataclass
class ChatEvent:
    """A group the app joined (``joined``), left (``left``) or that was renamed (``renamed``)."""

    kind: str
    chat_id: str
    title: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class Departure:
    """A person who left the organisation: their ``user_id`` in the id kind this integration binds people
    with, and the platform event that said so (kept on the member as the reason their binding went)."""

    user_id: str
    event: str


class Endpoint(str, enum.Enum):
    """Which of an integration's callback URLs a request came to: ``/events`` or ``/card``."""

    events = "events"
    card = "card"


@dataclass
class Handshake:
    """The platform checking its callback URL: answered with ``reply``, nothing else happens."""

    reply: Reply


@dataclass
class ChatEvents:
    """An event push, acknowledged with ``reply``: the chat list changes and the departures it brings
    (often none)."""

    reply: Reply
    dedupe_key: str | None = None  # the same push delivered twice is applied once
    events: list[ChatEvent] = field(default_factory=list)
    departures: list[Departure] = field(default_factory=list)


class Intent(str, enum.Enum):
    """What a card button asks for: an incident action, the card brought up to date, or the war room."""

    ack = "ack"
    resolve = "resolve"
    silence = "silence"
    unsilence = "unsilence"
    refresh = "refresh"  # 状态刷新: nothing changes, the card catches up with the incident
    war_room = WAR_ROOM  # 作战室: open (or find) the incident's group

    @classmethod
    def named(cls, name: str, offered: frozenset[Intent]) -> Intent | None:
        """The intent a button's value names, None unless it is one the platform's cards offer."""
        return next((intent for intent in offered if intent.value == name), None)


# The buttons every platform's card offers (a card with its own 状态刷新 button adds Intent.refresh).
CARD_BUTTONS = frozenset({Intent.ack, Intent.resolve, Intent.silence, Intent.unsilence, Intent.war_room})


@dataclass(frozen=True)
class CardId:
    """What names one delivered card on its platform. Each platform subclasses it with the entry of its
    delivery ``ref`` that holds the value (``ref_key``): its ``send_card`` records ``entry()`` there, its
    click parser reads the value off the click, and the click finds its delivery by ``names(ref)``. The
    keys are those deployed versions recorded, so their deliveries are found alike."""

    ref_key: ClassVar[str]
    value: str

    def entry(self) -> dict[str, str]:
        """What ``send_card`` puts into the delivery's ref for this card."""
        return {self.ref_key: self.value}

    def names(self, ref: dict | None) -> bool:
        """Whether ``ref`` (a delivery's) is this card's."""
        return bool(self.value) and isinstance(ref, dict) and ref.get(self.ref_key) == self.value


@dataclass
class Click:
    """A button press on a delivered card."""

    user_id: str
    incident_id: str
    intent: Intent
    card: CardId | None = None  # the clicked card (None: the platform did not say which)
    minutes: int | None = None
    dedupe_key: str | None = None  # the same click delivered twice is applied once
    reply_updates_card: bool = True  # False where the reply cannot carry the card (updated by API instead)
    ref_update: dict = field(default_factory=dict)  # e.g. a fresh single-use update code the click brought
    flavour: str = ""  # which of the platform's callback formats to answer in


# What an adapter's parse_callback makes of a verified callback.
Callback = Handshake | ChatEvents | Click


@dataclass
class ClickOutcome:
    """What the core decided about a click, for the adapter to answer in the platform's words."""

    ok: bool
    message: str
    card: Card | None = None
    link: str = ""


@dataclass
class ClickAnswer:
    """A click's answer as the adapter renders it: the ``reply``, and a text the clicker must still get as a
    direct message (what the reply cannot carry), which the flow sends afterwards through the notices."""

    reply: Reply
    direct_message: str = ""


@dataclass
class PlatformUser:
    user_id: str
    name: str


@dataclass
class RoomPlan:
    """The war-room group the core asks a platform for."""

    key: str  # 32 characters of [0-9a-z], stable per incident and integration: the platform's uuid / chatid
    title: str
    title_en: str
    description: str
    members: list[str]  # platform user ids, the owner first


@dataclass
class Room:
    """The group the platform created (or found again under ``RoomPlan.key``)."""

    chat_id: str
    target: str  # the chat delivery target whose cards land in the room
    title: str
    refused: list[str] = field(default_factory=list)  # members the platform would not add
