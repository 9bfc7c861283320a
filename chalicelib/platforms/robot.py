"""Custom group robots (seed 004): a webhook into one group, on each platform, behind the adapter seam.

A robot cannot be clicked and its messages cannot be edited. So the first message says everything (the
incident, its state, its alerts, a link to the incident page) and @s the targeted members so their
phones ring; each later state change is a short follow-up message (已认领 by …, 已关闭 by …); a change
nobody needs to hear of (an alert count moving) sends nothing. A robot has no token and no callbacks:
saving one checks only that its webhook has the platform's shape ("saving sends nothing"), and its
one chat is ``robot``. Each platform's module owns its webhook's shape, signature, message format and
error codes; the neutral text of the messages is composed here, once.
"""
from __future__ import annotations

import abc
import hashlib
import hmac
import json
import secrets
from typing import Callable, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.common.errors import CallbackRejected, InvalidInput, NotConfigured, PlatformError
from chalicelib.core.callback import Callback, Click, ClickAnswer, ClickOutcome, Endpoint, InboundRequest, PlatformUser
from chalicelib.core.cards import Card, Preview
from chalicelib.core.fitting import fit
from chalicelib.core.wording import incident_page
from chalicelib.platforms.base import Adapter, CommonSettings, Window
from chalicelib.platforms.errortable import ErrorTable

CHAT = "robot"  # a robot integration's one chat: target it as {"integration_id": …, "chat_id": "robot"}
NOT_A_ROBOT_TARGET = "机器人只能发到它所在的群 (a robot posts only into its own group: target chat_id \"robot\")"
MAX_ALERT_LINES = 10  # a robot message lists at most these alerts; the incident page lists them all
DESCRIPTION_CHARS = 1000  # of the description a robot message shows


class RobotCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    webhook: str = Field(min_length=1, max_length=2048)  # the robot's full webhook URL, as the platform shows it
    secret: str = Field(default="", max_length=256)  # 加签 / 签名校验 secret, when the robot has one
    view_key: str = Field(default="", max_length=64)  # made when saved: signs the read-only links its messages carry


class RobotSettings(CommonSettings):
    keyword: str = Field(default="", max_length=64)  # 自定义关键词: every message must carry it


class RobotAdapter(Adapter):
    """One custom robot of one group. Subclasses declare their platform's facts and render its messages."""

    editions = {"robot": (None, None)}  # no app, no monthly budget: only the per-robot rate limits
    token_families = ()
    Credentials = RobotCredentials
    secret_field = "webhook"  # moving an endpoint setting needs the robot's webhook again
    fixed_chats = {CHAT: ("群机器人", "Group robot")}
    rings_mentions = True
    reaches_people = False
    folds_bursts = True
    per_minute: ClassVar[int]
    message_limit: ClassVar[int]  # bytes one message may have
    message_room: ClassVar[int]  # bytes our measure lets a message fill (the limit, less a margin where counts differ)
    measured: ClassVar[str] = "bytes of the message"
    per_second: ClassVar[int | None] = None
    webhook_help: ClassVar[str]  # what the platform's robot webhook looks like, for the admin
    errors: ClassVar[ErrorTable]  # what its answer codes mean
    advice: ClassVar[dict[str, str]] = {}  # what to fix, by the code of a refusal that is a setup error

    # -- what each platform provides ------------------------------------------------------------
    @abc.abstractmethod
    def webhook_prefix(self) -> str:
        """The start every webhook of this platform's robots has (from the API base setting)."""

    @abc.abstractmethod
    def post(self, message: dict) -> None:
        """Send one message through the webhook (signed where the robot has a secret); raises PlatformError."""

    @abc.abstractmethod
    def compose(self, card: Card) -> dict:
        """The message that tells the group everything ``card`` (as fitted) shows, with its @mentions."""

    def size(self, message: dict) -> int:
        """What the platform's message limit counts of ``message``."""
        return len(json.dumps(message, ensure_ascii=False).encode())

    def first_message(self, card: Card) -> Preview:
        """The first message, with as much of the card as fits the platform's message limit."""
        shown = fitted(card, lambda candidate: self.size(self.compose(candidate)) <= self.message_room)
        message = self.compose(shown)
        return Preview(message, self.size(message), self.message_limit, self.measured, shown)

    @abc.abstractmethod
    def follow_up_message(self, card: Card, change: str) -> dict:
        """The short message that says what changed (``change``, already worded)."""

    def refusal(self, code: str, text: str, status: int = 200) -> PlatformError:
        """The error for a refused message, saying what to fix (its ``hint``) where the code is a setup error."""
        error = self.errors.classify(code, f"{text} — {self.advice[code]}" if code in self.advice else text, status)
        error.hint = error.hint or self.advice.get(code, "")
        return error

    def errcode(self, data: dict, status: int) -> str:
        """DingTalk's and WeCom's ``errcode`` (0: sent); an answer without one is its HTTP status."""
        return str(data.get("errcode", f"http{status}" if status >= 300 else 0))

    def with_keyword(self, text: str) -> str:
        """The 自定义关键词 must be in every message: said at the end unless the text carries it already."""
        keyword = self.settings.keyword
        return f"{text}\n\n{keyword}" if keyword and keyword not in text else text

    # -- the seam -------------------------------------------------------------------------------
    def check_credentials(self) -> None:
        """Saving sends nothing: only the webhook's shape is checked (and so where it sends to)."""
        if not self.credentials.webhook.startswith(self.webhook_prefix()):
            raise InvalidInput(f"credentials.webhook is not a {self.label[1]} robot webhook: {self.webhook_help}")

    def after_save(self, urls: dict[str, str]) -> dict[str, str]:
        """The key that signs the incident links of this robot's messages, made once."""
        return {} if self.credentials.view_key else {"view_key": secrets.token_urlsafe(24)}

    def reader_allowed(self, incident_id: str, token: str) -> bool:
        """A robot's group has no app to sign in to: its messages' links carry a signature that shows that
        incident's page read-only to whoever holds the link (the group)."""
        return bool(token) and hmac.compare_digest(token.encode(), self._view_token(incident_id).encode())

    def _view_token(self, incident_id: str) -> str:
        key = self.credentials.view_key.encode()
        return hmac.new(key, incident_id.encode(), hashlib.sha256).hexdigest()[:32] if key else ""

    def fetch_token(self, family: str) -> tuple[str, int]:
        raise NotConfigured("a robot has no token")

    def urls(self, base: str) -> dict[str, str]:
        return {}  # nothing to paste anywhere: the robot only receives

    def windows(self, operation: str, kind: str, target: str, ref: dict | None = None) -> list[Window]:
        key = f"{self.integration_id}#robot"
        minute = [Window(key, self.per_minute, 60)]
        return minute + ([Window(key, self.per_second, 1)] if self.per_second else [])

    def send_card(self, kind: str, target: str, card: Card, card_key: str) -> dict:
        if kind != "chat" or target != CHAT:
            raise InvalidInput(NOT_A_ROBOT_TARGET)
        self.post(self.first_message(self.offered(card)).payload)
        return {"robot": True, "shown": shown(card)}

    def preview(self, kind: str, card: Card) -> Preview:
        return self.first_message(self.offered(card))

    def update_card(self, ref: dict, card: Card) -> dict:
        if change := what_changed(ref.get("shown") or {}, card):
            self.post(self.follow_up_message(self.offered(card), change))
        return {**ref, "shown": shown(card)}

    def wants_image(self, ref: dict | None) -> bool:
        """A robot's picture goes with its first message; its follow-ups say only what changed."""
        return bool(self.image_types) and not ref

    def parse_callback(self, request: InboundRequest, endpoint: Endpoint) -> Callback:
        raise CallbackRejected("a robot takes no callbacks")

    def click_reply(self, click: Click, outcome: ClickOutcome) -> ClickAnswer:
        raise NotConfigured("a robot's messages cannot be clicked")

    def user_by_mobile(self, mobile: str) -> str | None:
        return None

    def h5_user(self, code: str) -> PlatformUser:
        raise NotConfigured("a robot has no app to sign in to")

    def war_room_problem(self) -> str | None:
        return "群机器人不能建群 (a group robot cannot open war rooms)"

    def offered(self, card: Card) -> Card:
        """Nothing to click; the link opens the incident's page read-only (see ``reader_allowed``). A link
        elsewhere (a report's own) is left as it is: the signature is for dutybridge's page alone."""
        view = self._view_token(card.incident_id) if card.url == incident_page(self.integration_id,
                                                                               card.incident_id) else ""
        return card.model_copy(update={"war_room": False, "buttons": [], "silence_menu": [],
                                       "url": f"{card.url}?view={view}" if view else card.url})


def shown(card: Card) -> dict:
    """What a robot's messages have told the group so far: the state a follow-up is measured against."""
    return {"status": card.status, "silenced_until": card.silenced_until, "acted_by": card.acted_by}


def what_changed(before: dict, card: Card) -> str:
    """The follow-up's words for what changed since ``before``; "" when nothing the group must hear."""
    if card.status != before.get("status"):
        return f"{card.status_zh} {card.status_en}" + (f" · {card.acted_by}" if card.acted_by else "")
    if card.silenced_until != before.get("silenced_until"):
        if card.silenced_until:
            return f"已屏蔽至 {card.silenced_until} (silenced)" + (f" · {card.acted_by}" if card.acted_by else "")
        return "已取消屏蔽 (unsilenced)" + (f" · {card.acted_by}" if card.acted_by else "")
    return ""


def lines(card: Card) -> list[tuple[str, str]]:
    """The first message's facts as (label, value) lines, producer text still raw (each platform escapes); a
    template line without a name has the label ""."""
    facts = [("状态 Status", f"{card.status_zh} {card.status_en}"), ("开始 Started", card.started_at)]
    if card.acted_by:
        facts.append(("处理人 By", card.acted_by))
    if card.silenced_until:
        facts.append(("屏蔽至 Silenced", card.silenced_until + (f" · ID {card.silence_id}" if card.silence_id else "")))
    return facts + card.facts


def alert_lines(card: Card) -> list[str]:
    """The card's alerts as lines, raw."""
    return [f"{a.status_zh} {a.status_en} · {a.at} · {a.text}" for a in card.alerts]


def markdown_parts(card: Card, literal: Callable[[str], str], title: str, fact: Callable[[str, str], str],
                   item: str) -> list[str]:
    """The first message's parts in a markdown robot: ``title``, the facts (``fact(label, value)``, a line
    without a label as an ``item``), the alerts, the "+N more" link, the description and the details link."""
    parts = [title, "\n".join(fact(label, literal(value)) if label else f"{item}{literal(value)}"
                              for label, value in lines(card))]
    if card.alert_count:
        parts.append("\n".join([f"**{card.alert_count}**", *(f"{item}{literal(line)}" for line in alert_lines(card))]))
    if card.more:
        parts.append(f"[{card.more}]({card.url})")
    if card.description:
        parts.append(literal(card.description))
    return parts + [f"[查看详情 Details]({card.url})"]


def fitted(card: Card, fits: Callable[[Card], bool]) -> Card:
    """What the first message shows of ``card`` within the platform's size (``fits``): at most
    MAX_ALERT_LINES alerts and DESCRIPTION_CHARS of the description, the rest counted on its "+N more" line."""
    brief = card.model_copy(update={"alerts": card.alerts[:MAX_ALERT_LINES]})
    return fit(brief, fits, lambda description: len(description) <= DESCRIPTION_CHARS)
