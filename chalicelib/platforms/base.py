"""The seam every platform implements: one adapter class per platform, registered in __init__.

An adapter turns the neutral card into the platform's payload, calls the platform's API, and
verifies and parses the platform's callbacks into neutral events. It knows nothing of incidents,
storage or SQS; the core knows nothing of any platform.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Annotated, Any, Callable, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.common.errors import NotConfigured, QuotaExhausted, TokenInvalid
from chalicelib.common.fetch import Picture
from chalicelib.common.ids import ID_PATTERN
from chalicelib.core.callback import (
    Callback,
    ChatEvents,
    Click,
    ClickAnswer,
    ClickOutcome,
    Endpoint,
    InboundRequest,
    PlatformUser,
    Reply,
    Room,
    RoomPlan,
)
from chalicelib.core.cards import LABEL_ORDER, Card, Preview
from chalicelib.core.templates import CardTemplate
from chalicelib.platforms import tokens
from chalicelib.store import ledger


@dataclass(frozen=True)
class Window:
    """At most ``limit`` calls per ``seconds`` for ``key`` (e.g. one receiver, one API of one app)."""

    key: str
    limit: int
    seconds: int

    def start(self, moment: float) -> int:
        return int(moment // self.seconds) * self.seconds


class CommonSettings(BaseModel):
    """Settings every platform's integration takes: its edition, limit overrides, the war room and the card."""

    model_config = ConfigDict(extra="forbid")
    edition: str | None = Field(default=None, max_length=64)  # one of the platform's editions; None: its first
    qps: int | None = Field(default=None, gt=0)  # overrides the edition's per-API QPS
    monthly_calls: int | None = Field(default=None, gt=0)  # overrides the edition's monthly budget
    low_at: float = Field(default=0.9, gt=0, le=1)  # share of the budget from which non-critical cards are digested
    digest_minutes: int = Field(default=10, ge=1, le=15)  # one digest per receiver per interval (SQS delays ≤ 15 min)
    # member ids warned once a month when the budget runs low
    quota_admins: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(default=[], max_length=50)
    war_room_auto_critical: bool = False  # open a room by itself for every critical incident
    # a robot integration that takes critical incidents when this one's budget or quota is spent
    fallback_robot: str | None = Field(default=None, pattern=ID_PATTERN)
    # the labels a card shows first when not all fit (the rest follow by name); the card says what it left out
    label_order: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default=LABEL_ORDER, max_length=50)
    # hosts an incident's image_url may name although they resolve to a private address (e.g. an inner Grafana)
    image_hosts: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(default=[], max_length=20)
    # the card's own title and custom lines (Jinja2, core/templates.py); null removes it
    template: CardTemplate | None = None


class Adapter(abc.ABC):
    """One integration (a self-built app) of one platform."""

    name: ClassVar[str]
    label: ClassVar[tuple[str, str]]  # the platform's name as people read it: (Chinese, English)
    # edition -> (requests per second per API, calls per month), None: no such limit; the first is the default
    editions: ClassVar[dict[str, tuple[int | None, int | None]]]
    # the token families fetch_token() knows (forgotten when credentials or settings change)
    token_families: ClassVar[tuple[str, ...]]
    # operator-level setups shared by this platform's integrations (e.g. the WeCom suite)
    providers: ClassVar[tuple[type[Provider], ...]] = ()
    Credentials: ClassVar[type[BaseModel]]
    Settings: ClassVar[type[BaseModel]]
    # The credential the app proves itself with (sent on every token fetch): changing where the app
    # sends it (a setting named *_base or *_url) needs it again. None: such settings cannot change.
    secret_field: ClassVar[str | None] = None
    # Chats the integration has from the start, (Chinese, English) titles by chat id: a robot's one group.
    fixed_chats: ClassVar[dict[str, tuple[str, str]]] = {}
    # Whether its group messages @ the incident's targeted members (the card's ``mentions`` are filled in).
    rings_mentions: ClassVar[bool] = False
    # Whether it reaches people one by one (a member is paged on it where bound); a robot reaches one group.
    reaches_people: ClassVar[bool] = True
    # Whether new cards that would wait for its rate limit are folded into one message (a robot's burst).
    folds_bursts: ClassVar[bool] = False
    # How long the platform waits for a click's answer, in seconds. A reply carrying the card counts
    # as shown only when ready well inside it; None: replies never count (the card is updated by API).
    click_reply_seconds: ClassVar[float | None] = None

    def __init__(self, integration_id: str, credentials: BaseModel, settings: BaseModel) -> None:
        self.integration_id = integration_id
        self.credentials = credentials
        self.settings = settings

    # -- tokens -----------------------------------------------------------------------------
    token_margin: ClassVar[int] = 300
    # How many unknown mobiles one linking run may look up before it stops (None: no limit).
    mobile_miss_limit: ClassVar[int | None] = None

    def token(self, family: str = "app") -> str:
        return tokens.get(f"{self.integration_id}#{family}", lambda: self.fetch_token(family),
                          self.token_margin)

    def with_token(self, family: str, call: Callable[[str], Any]) -> Any:
        """Run ``call(token)``; when the platform refuses the token, refresh once and retry once."""
        token = self.token(family)
        try:
            return call(token)
        except TokenInvalid:
            tokens.invalidate(f"{self.integration_id}#{family}", token)
            return call(self.token(family))

    def counted(self, api: str, call: Callable[[str], Any], family: str = "app") -> Any:
        """A call the platform counts against the monthly budget: ledger it (refused once the budget is
        spent, whatever other functions counted meanwhile), then make it."""
        if not ledger.count(self.integration_id, api, self.limits(self.settings.model_dump())["monthly_calls"]):
            raise QuotaExhausted("dutybridge", "ledger", ledger.SPENT)
        return self.with_token(family, call)

    @abc.abstractmethod
    def fetch_token(self, family: str) -> tuple[str, int]:
        """Ask the platform for a fresh token: (token, seconds it lives)."""

    # -- setup ------------------------------------------------------------------------------
    @abc.abstractmethod
    def urls(self, base: str) -> dict[str, str]:
        """Every address the setup guide tells the admin to paste into the platform console."""

    @classmethod
    def assigned_id(cls, credentials: BaseModel, settings: BaseModel) -> str | None:
        """The id of an integration the platform itself opens (e.g. on an app authorisation), if any."""
        return None

    def check_credentials(self) -> None:
        """Prove the credentials work by fetching a token; raises PlatformError."""
        self.fetch_token("app")

    def after_save(self, urls: dict[str, str]) -> dict[str, str]:
        """Register what the platform needs to know; returns generated secrets to store."""
        return {}

    def card_callback_registration(self) -> str | None:
        """What can be known of the card callback URL's registration with the platform (health); None when
        the integration has no card callback URL of its own."""
        return None

    # -- pacing -----------------------------------------------------------------------------
    @classmethod
    def limits(cls, settings: dict) -> dict:
        """The edition's published limits, with per-integration overrides from settings."""
        edition = str(settings.get("edition") or next(iter(cls.editions)))
        qps, monthly = cls.editions.get(edition, (None, None))
        return {"edition": edition, "qps": settings.get("qps") or qps,
                "monthly_calls": settings.get("monthly_calls") or monthly}

    def windows(self, operation: str, kind: str, target: str, ref: dict | None = None) -> list[Window]:
        """The published limits one card ``send`` or ``update`` to ``target`` must stay inside."""
        return []

    # -- cards ------------------------------------------------------------------------------
    @abc.abstractmethod
    def send_card(self, kind: str, target: str, card: Card, card_key: str) -> dict:
        """Deliver a new card to a user or chat; returns the reference needed to update it, holding the
        card's ``CardId.entry()`` where a click on the card can name it."""

    @abc.abstractmethod
    def update_card(self, ref: dict, card: Card) -> dict:
        """Show ``card`` in place of the delivered one; returns the (possibly changed) reference."""

    @abc.abstractmethod
    def preview(self, kind: str, card: Card) -> Preview:
        """What a new card to a person (``kind`` "user") or a group ("chat") would send, without sending it."""

    # -- pictures ---------------------------------------------------------------------------
    # How the platform takes an incident's picture (``image_url``): the largest it accepts and its types (none:
    # its cards show no picture, ``image_refusal`` says why), and how long an upload's reference lasts (None:
    # for good; 0: only for the delivery that made it).
    image_max_bytes: ClassVar[int] = 0
    image_types: ClassVar[frozenset[str]] = frozenset()
    image_lifetime: ClassVar[int | None] = None
    image_refusal: ClassVar[str] = "该平台的卡片不显示图片 (this platform's cards show no pictures)"

    def upload_image(self, picture: Picture) -> str:
        """Put the fetched picture where this platform's cards can show it; returns the reference they carry
        (``Card.image``). Raises PlatformError, or NotConfigured when this picture cannot be shown here."""
        raise NotConfigured(self.image_refusal)

    def wants_image(self, ref: dict | None) -> bool:
        """Whether the card about to go out (``ref``: the one already delivered, if any) would show a picture."""
        return bool(self.image_types)

    # -- inbound ----------------------------------------------------------------------------
    @abc.abstractmethod
    def parse_callback(self, request: InboundRequest, endpoint: Endpoint) -> Callback:
        """Verify and open a callback that came to ``endpoint``: the URL's handshake, an event push's chat
        events, or a card click. Raises CallbackRejected."""

    @abc.abstractmethod
    def click_reply(self, click: Click, outcome: ClickOutcome) -> ClickAnswer:
        """The platform's answer to a click (a toast/notice and the updated card), only rendered: what must
        reach the clicker beyond it is returned as a direct message for the flow to send."""

    def send_text(self, user_id: str, message: str) -> None:
        """Send a person a plain text message: the direct message a click's answer asked for."""
        raise NotConfigured(f"{self.name} sends no direct messages")

    # -- people -----------------------------------------------------------------------------
    @abc.abstractmethod
    def user_by_mobile(self, mobile: str) -> str | None:
        """The platform user id behind a mobile number, or None."""

    @abc.abstractmethod
    def h5_user(self, code: str) -> PlatformUser:
        """Exchange the code the web app obtained inside the client for the user."""

    def h5_page_config(self) -> dict[str, str]:
        """Public values the web app's in-client login script needs (no secrets)."""
        return {"platform": self.name}

    def authorize_url(self, state: str, redirect_uri: str) -> str | None:
        """Where to send the browser to sign in; None when the page signs in inside the client (JSAPI)."""
        return None

    # -- war room ---------------------------------------------------------------------------
    room_carries_buttons: ClassVar[bool] = True  # False: responders get their own 1:1 button cards
    room_min_members: ClassVar[int] = 1

    def war_room_problem(self) -> str | None:
        """Why this integration cannot open war rooms (Chinese and English), or None when it can."""
        return "该平台暂不支持作战室 (this platform cannot open war rooms)"

    def war_room_wanted(self) -> bool:
        """Whether the settings ask for war rooms (saving such settings needs war_room_problem() None)."""
        return self.settings.war_room_auto_critical

    def open_room(self, plan: RoomPlan) -> Room:
        """Create the group with its members; the same ``plan.key`` must find the same group again."""
        raise NotConfigured(self.war_room_problem() or "war rooms are not implemented for this platform")

    def add_to_room(self, chat_id: str, user_ids: list[str]) -> list[str]:
        """Invite latecomers into a room this app opened; returns the ids the platform refused."""
        raise NotConfigured(self.war_room_problem() or "war rooms are not implemented for this platform")

    def reader_allowed(self, incident_id: str, token: str) -> bool:
        """Whether ``token`` lets someone read the incident's page without signing in (apps: never)."""
        return False

    def offered(self, card: Card) -> Card:
        """The card as this integration shows it: the 作战室 button only where a room can be opened, and @s
        only of members linked on this integration (their user id here, under this platform's name)."""
        changes: dict = {}
        if card.war_room and self.war_room_problem():
            changes["war_room"] = False
        if card.mentions:
            changes["mentions"] = [m.model_copy(update={"user_ids": {self.name: m.bound[self.integration_id]}})
                                   for m in card.mentions if self.integration_id in m.bound]
        return card.model_copy(update=changes) if changes else card


@dataclass(frozen=True)
class Opening:
    """An integration the platform opened by itself (e.g. an organisation installed the provider's app)."""

    platform: str
    integration_id: str
    name: str
    credentials: dict[str, str]
    settings: dict[str, Any]


@dataclass(frozen=True)
class Routed:
    """What a provider's callback comes to: an answer, or an event of one integration to hand on."""

    reply: Reply | None = None
    integration_id: str | None = None  # the integration whose adapter parses this callback
    opened: Opening | None = None  # to open before answering
    events: ChatEvents | None = None  # what the provider itself parsed for ``integration_id`` (its reply)


class Provider(abc.ABC):
    """An operator-level setup shared by a platform's integrations (the WeCom suite), served at
    ``/providers/{name}`` (admin) and ``/callbacks/{name}``. Its name starts with its platform's:
    ``<platform>-<provider>``."""

    name: ClassVar[str]
    Config: ClassVar[type[BaseModel]]  # the body of PUT /providers/{name}

    @abc.abstractmethod
    def save(self, config: BaseModel) -> dict:
        """Store the operator's setup; returns the admin's view of it."""

    @abc.abstractmethod
    def view(self) -> dict:
        """The admin's view: every URL to paste, credentials masked. Raises NotFound when not set up."""

    @abc.abstractmethod
    def route(self, request: InboundRequest) -> Routed:
        """Verify a callback: answer it here or name the integration it belongs to. Raises CallbackRejected."""
