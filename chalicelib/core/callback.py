"""The neutral callback contract between the platforms and the flows.

A platform's adapter turns what its callbacks carry into these shapes (a click, chat events, the
answer to send back); the flows decide and answer in them. Nothing here knows any platform.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.cards import Card
from chalicelib.core.models import Action

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
class Click:
    """A button press. ``action`` None asks only for the card to be refreshed."""

    user_id: str
    incident_id: str
    action: Action | None
    minutes: int | None = None
    context: dict = field(default_factory=dict)  # identifies the clicked card among the deliveries' refs
    dedupe_key: str | None = None  # the same click delivered twice is applied once
    reply_updates_card: bool = True  # False where the reply cannot carry the card (updated by API instead)
    ref_update: dict = field(default_factory=dict)  # e.g. a fresh single-use update code the click brought
    flavour: str = ""  # which of the platform's callback formats to answer in
    war_room: bool = False  # the 作战室 button: open (or find) the incident's group instead of an action


@dataclass
class EventBatch:
    reply: Reply
    dedupe_key: str | None = None
    chat_events: list[ChatEvent] = field(default_factory=list)
    click: Click | None = None  # platforms whose card clicks arrive on the event URL


@dataclass
class ClickOutcome:
    """What the core decided about a click, for the adapter to answer in the platform's words."""

    ok: bool
    message: str
    card: Card | None = None
    link: str = ""


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
