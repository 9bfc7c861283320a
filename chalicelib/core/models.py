"""Pydantic models for everything that crosses a boundary (SQS, admin API, storage)."""
from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from typing import Annotated, Literal, Optional
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from chalicelib.common.ids import ID_PATTERN

# Ids of incidents, members and integrations: they become DynamoDB keys, whose size is limited.
Identifier = Field(pattern=ID_PATTERN)
# How long one silence may last, whoever asks for it (the admin API, the web app, a card click).
MAX_SILENCE_MINUTES = 7 * 24 * 60
SilenceMinutes = Annotated[int, Field(ge=1, le=MAX_SILENCE_MINUTES)]
_SILENCE = TypeAdapter(Optional[SilenceMinutes])
SILENCE_RANGE = (f"屏蔽时长须在 1 到 {MAX_SILENCE_MINUTES} 分钟之间 "
                 f"(minutes must be between 1 and {MAX_SILENCE_MINUTES}, 7 days)")
# started_at outside these years is a mistake, and would not render as a local time either.
FIRST_YEAR, LAST_YEAR = 1970, 2999
# A report is kept in the incidents table under ``report.<its id>``: no incident, and no source's incidents
# (``<source id>.<group>.<n>``), may take an id under that prefix, so the two never meet.
REPORT_KIND = "report"
REPORT_PREFIX = "report."
MAX_REPORT_ID = 128 - len(REPORT_PREFIX)  # the record's id stays within ID_PATTERN's 128 characters
RESERVED_ID = f"ids starting with {REPORT_PREFIX!r} are kept for reports"


def reserved_id(value: str) -> bool:
    """Whether ``value``, or the ids made from it with a dot after it, would fall under REPORT_PREFIX."""
    return (value + ".").startswith(REPORT_PREFIX)


def is_report(record: dict) -> bool:
    """Whether an incidents-table record is a report (core.reports) rather than an incident."""
    return record.get("kind") == REPORT_KIND


def silence_minutes_ok(minutes: object) -> bool:
    """The one silence bound: None (the default length) or 1 to MAX_SILENCE_MINUTES whole minutes."""
    try:
        _SILENCE.validate_python(minutes, strict=True)
    except ValidationError:
        return False
    return True


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Severity(str, enum.Enum):
    critical = "critical"
    warning = "warning"
    info = "info"


class Status(str, enum.Enum):
    triggered = "triggered"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Action(str, enum.Enum):
    ack = "ack"
    resolve = "resolve"
    silence = "silence"
    unsilence = "unsilence"  # ends a silence early (and expires it in the source's Alertmanager)


class IncidentFields(Strict):
    id: str = Identifier
    title: str = Field(min_length=1, max_length=512)
    severity: Severity
    status: Status = Status.triggered
    description: str = Field(default="", max_length=8000)
    labels: dict[str, str] = Field(default_factory=dict, max_length=50)
    url: str = Field(default="", max_length=2048)
    started_at: str | None = None
    image_url: str = Field(default="", max_length=2048)  # a picture the cards show (fetched and uploaded)

    @field_validator("image_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if value and not re.match(r"(?i)https?://[^/?#\s]", value):
            raise ValueError("image_url must be an http:// or https:// address")
        return value

    @field_validator("id")
    @classmethod
    def _not_a_report_id(cls, value: str) -> str:
        if reserved_id(value):
            raise ValueError(RESERVED_ID)
        return value

    @field_validator("started_at")
    @classmethod
    def _iso_time(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = "started_at must be ISO-8601 with a time zone, e.g. 2026-11-22T10:00:00Z"
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)", value):
            raise ValueError(problem)
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(problem) from exc
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise ValueError(f"started_at must lie between the years {FIRST_YEAR} and {LAST_YEAR}")
        return value


class ChatTarget(Strict):
    integration_id: str = Identifier
    chat_id: str = Field(min_length=1, max_length=256)


class Targets(Strict):
    members: list[Annotated[str, Identifier]] = Field(default_factory=list, max_length=500)
    chats: list[ChatTarget] = Field(default_factory=list, max_length=100)


def web_link(value: str | None) -> str:
    """An http(s) URL the platforms can open (and fetch, for a picture), or "" for none."""
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError("must be an http(s) URL")
    return value


class Report(Strict):
    """A scheduled report (README, "Reports"): shown once as a notice card, nothing to act on."""

    id: str = Field(pattern=ID_PATTERN, max_length=MAX_REPORT_ID)
    kind: Literal["dashboard", "dataset_sync", "chart_alarm"]  # DataWind's 仪表盘订阅, 数据集同步结果, 图表监控报警
    title: str = Field(min_length=1, max_length=512)
    text: str = Field(default="", max_length=8000)
    status: Literal["success", "failed"] | None = None
    image_url: str | None = Field(default="", max_length=2048)  # the picture (a dashboard's screenshot)
    url: str | None = Field(default="", max_length=2048)  # where the report opens in DataWind

    @field_validator("image_url", "url")
    @classmethod
    def _web_links(cls, value: str | None) -> str:
        return web_link(value)

    @property
    def record_id(self) -> str:
        """The id it is kept under in the incidents table."""
        return REPORT_PREFIX + self.id


class Notification(Strict):
    """The SQS message producers send (README, "Admin API": the same body as POST /incidents): an incident,
    or a report (README, "Reports")."""

    version: Literal[1]
    incident: IncidentFields | None = None
    report: Report | None = None
    targets: Targets = Field(default_factory=Targets)

    @model_validator(mode="after")
    def _one_subject(self) -> "Notification":
        if (self.incident is None) == (self.report is None):
            raise ValueError("give exactly one of incident or report")
        return self

    @property
    def subject_id(self) -> str:
        """The id its record is kept (and looked up by GET /incidents/{id}) under."""
        return self.report.record_id if self.report else self.incident.id


class ActionRequest(Strict):
    action: Action
    minutes: SilenceMinutes | None = None
    by: str = Identifier


class WarRoomRequest(Strict):
    integration_id: str = Identifier
    by: str | None = Field(default=None, pattern=ID_PATTERN)  # the member opening it, if one does


EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MOBILE = r"^\+?[0-9][0-9 -]{4,30}$"


class MemberIn(Strict):
    id: str = Identifier
    name: str = Field(min_length=1, max_length=128)
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL)
    mobile: str | None = Field(default=None, pattern=MOBILE)


class MemberPatch(Strict):
    """``PATCH /members/{id}``: what is given changes; ``email``, ``mobile`` or ``channels`` null removes it
    (``channels`` null: paged wherever linked again)."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL)
    mobile: str | None = Field(default=None, pattern=MOBILE)
    # 个人渠道: the integrations the member is paged on, in order (default: every one where they are linked)
    channels: list[Annotated[str, Identifier]] | None = Field(default=None, min_length=1, max_length=20)


# A setting's value: the platform's settings model says which names take which of these (a map: the card
# template; null: back to the setting's default, e.g. no template).
SettingValue = bool | int | float | str | list[str] | dict[str, str] | None


class IntegrationPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    credentials: dict[str, str] | None = None
    settings: dict[str, SettingValue] | None = None


class RoomJob(BaseModel):
    """A war room asked for from a card (by ``member_id``), or by a critical incident itself (no member);
    the war-rooms queue carries these."""

    incident_id: str
    integration_id: str
    member_id: str | None = None
    source: str
    attempt: int = 0


class DeliveryJob(BaseModel):
    """One card to one target; the deliveries queue carries these.

    A notice (a receiver's digest, a robot's burst folded into one message, a low-quota warning, a war room
    that could not be opened) is a card of its own, a click's ``direct_message`` a text: ``incident_id`` then
    names the notice, e.g. ``digest-1800000000``.
    """

    incident_id: str
    integration_id: str
    kind: Literal["user", "chat"]
    target: str
    notice: Literal["digest", "burst", "quota_low", "war_room_failed", "direct_message"] | None = None
    attempt: int = 0
    slot_at: float | None = None  # a pacing slot reserved for this card (epoch seconds)
    shown: str | None = None  # the digest of the card a click's reply put there: update unless it is current

    @property
    def target_key(self) -> str:
        return f"{self.integration_id}#{self.kind}#{self.target}"

    @property
    def card_key(self) -> str:
        """Stable platform-side card id: ``<incident or notice id>.<hash of integration and target>``."""
        return f"{self.incident_id}.{hashlib.sha1(self.target_key.encode()).hexdigest()[:12]}"
