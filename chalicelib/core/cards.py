"""The platform-neutral incident card; each platform adapter renders it in its own format."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from pydantic import BaseModel

from chalicelib.core import incidents, templates
from chalicelib.core.models import Action, Status, is_report
from chalicelib.core.wording import (
    ACTION_TEXT,
    ALERT_STATUS_TEXT,
    SEVERITY_TEXT,
    STATUS_TEXT,
    incident_page,
    local_time,
    zone,
)
from chalicelib.store import integrations

MAX_ALERT_LINES = 20  # a card lists at most these alerts of its group; the page lists the rest
LABEL_ORDER = ["severity", "service", "alertname", "instance", "job"]  # the labels a card shows first by default
SILENCE_CHOICES = (120, 360, 1440)  # 2 h on the card itself, longer ones behind a menu
# The 作战室 button opens the incident's group; it is no incident action, so it has its own id.
WAR_ROOM = "war_room"
WAR_ROOM_TEXT = ("作战室", "War room")


class Button(BaseModel):
    action: Action
    zh: str
    en: str
    minutes: int | None = None


class AlertLine(BaseModel):
    """One alert of the incident's group, as a card lists it."""

    status: str  # firing | resolved
    status_zh: str
    status_en: str
    text: str  # the alert's summary, else its distinguishing labels
    at: str  # when it started (or resolved), local time


class Mention(BaseModel):
    """A targeted member a group message @s so that their phone rings: each platform picks what it can use."""

    name: str
    mobile: str = ""
    user_ids: dict[str, str] = {}  # platform name → the member's user id there (their bindings)
    bound: dict[str, str] = {}  # integration id → the member's user id on that integration


class Cut(BaseModel):
    """What a card left out to fit its platform's limits; the incident page (the card's link) shows it all."""

    facts: list[str] = []  # the names of the facts (labels, template lines) not shown
    alerts: int = 0  # alerts of the group not listed
    description: int = 0  # characters of the description not shown

    def count(self) -> int:
        return len(self.facts) + self.alerts + (1 if self.description else 0)

    def line(self) -> str:
        """The card's line saying so, "" when nothing is left out."""
        more = self.count()
        return f"还有 {more} 项 · +{more} more" if more else ""


class Card(BaseModel):
    """What every platform shows for one incident; texts are Chinese with English alongside."""

    incident_id: str
    title: str
    severity: str
    severity_zh: str
    severity_en: str
    status: str
    status_zh: str
    status_en: str
    description: str
    # What the card says of the incident, most important first: its labels in label_order then by name, or
    # the lines of the integration's template ("" as the name of a line that has none).
    facts: list[tuple[str, str]]
    lead: int = 0  # how many facts rank before the alert lines (the label_order ones, every template line)
    started_at: str
    acted_by: str
    acted_by_en: str = ""  # the same in English, for platforms that show an English card beside the Chinese
    silenced_until: str
    silence_id: str = ""  # the silence made in the incident's Alertmanager or Grafana
    alert_count: str = ""  # e.g. "告警 3 条：触发 2 · 恢复 1 (3 alerts: 2 firing, 1 resolved)"; empty without a group
    alerts: list[AlertLine] = []  # the first MAX_ALERT_LINES alerts, firing first
    alert_total: int = 0  # every alert of the group (firing, resolved, not sent): what a card says it left out
    url: str
    buttons: list[Button]
    silence_menu: list[Button]
    war_room: bool  # offer the 作战室 button (the adapter drops it where no room can be opened)
    notice: bool = False  # a digest or warning: no incident behind it, nothing to click
    mentions: list[Mention] = []  # in a group: the targeted members to @
    image_url: str = ""  # the incident's picture (e.g. Grafana's panel), as the producer named it
    image: str = ""  # that picture uploaded to this integration's platform: the reference its cards show
    templated: bool = False  # the title and facts are the integration's template's (its custom area)
    template_error: str = ""  # why the integration's template could not render this card (the default shows)
    # Set by fitting.fit on the card a platform shows: what it left out, and the line that says so.
    cut: Cut = Cut()
    more: str = ""

    def digest(self) -> str:
        """Fingerprint of what the card shows; an unchanged card is never updated again."""
        shown = self.model_dump(mode="json", exclude={"mentions"})  # who is @'d is said once, not shown
        return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:32]


def _acted_by(incident: dict, tz: dt.tzinfo) -> tuple[str, str]:
    """Who acted last: (the Chinese line with its English gloss, the English line)."""
    last = incident.get("last_action")
    if not last:
        return "", ""
    zh, en = ACTION_TEXT[last["action"]]
    at = local_time(last["at"], tz)
    return f"{last['name']} {zh}于 {at} ({en})", f"{last['name']} {en} at {at}"


def _buttons(incident: dict) -> tuple[list[Button], list[Button]]:
    if incident["status"] == Status.resolved.value:
        return [], []
    buttons = []
    if incident["status"] == Status.triggered.value:
        buttons.append(Button(action=Action.ack, zh="认领", en="Acknowledge"))
    buttons.append(Button(action=Action.resolve, zh="关闭", en="Close"))
    if incidents.is_silenced(incident):  # silenced: the way back instead of longer silences
        return buttons + [Button(action=Action.unsilence, zh="取消屏蔽", en="Unsilence")], []
    silence = [Button(action=Action.silence, zh=f"屏蔽 {m // 60} 小时", en=f"Silence {m // 60}h", minutes=m)
               for m in SILENCE_CHOICES]
    return buttons + silence[:1], silence[1:]


def _alert_total(incident: dict) -> int:
    group = incident.get("alert_group") or {}
    return group.get("firing", 0) + group.get("resolved", 0) + group.get("truncated", 0)


def _alert_count(incident: dict) -> str:
    group = incident.get("alert_group")
    if not group:
        return ""
    firing, resolved, more = group.get("firing", 0), group.get("resolved", 0), group.get("truncated", 0)
    total = _alert_total(incident)
    zh = f"告警 {total} 条：触发 {firing} · 恢复 {resolved}" + (f" · 未发送 {more}" if more else "")
    en = f"{total} alerts: {firing} firing, {resolved} resolved" + (f", {more} not sent" if more else "")
    return f"{zh} ({en})"


def _alert_lines(incident: dict, tz: dt.tzinfo) -> list[AlertLine]:
    lines = []
    for alert in incident.get("alerts", [])[:MAX_ALERT_LINES]:
        labels = alert.get("labels", {})
        text = alert.get("summary") or " ".join(
            f"{k}={v}" for k, v in labels.items() if k in ("alertname", "instance", "job", "pod", "service"))
        zh, en = ALERT_STATUS_TEXT[alert["status"]]
        when = alert.get("ends_at") if alert["status"] == "resolved" and alert.get("ends_at") else alert["starts_at"]
        lines.append(AlertLine(status=alert["status"], status_zh=zh, status_en=en, text=text or alert["fingerprint"],
                               at=local_time(when, tz)))
    return lines


@dataclass(frozen=True)
class Preview:
    """What a platform would receive for a card: the request body, its size against the platform's limit, and
    the card as fitted into it (what it left out)."""

    payload: dict
    size: int
    limit: int
    measured: str  # what size and limit count, e.g. "bytes of the request body"
    shown: Card

    def view(self) -> dict:
        return {"payload": self.payload, "size": {"value": self.size, "limit": self.limit, "of": self.measured},
                "cut": self.shown.cut.model_dump(), "more": self.shown.more,
                "template_error": self.shown.template_error or None}


def ordered_labels(labels: dict[str, str], order: list[str]) -> tuple[list[tuple[str, str]], int]:
    """The labels named in ``order`` first (in its order), then the others by name; and how many lead."""
    lead = [(name, labels[name]) for name in dict.fromkeys(order) if name in labels]
    rest = sorted((name, value) for name, value in labels.items() if name not in dict.fromkeys(order))
    return lead + rest, len(lead)


def build(incident: dict, integration_id: str, integration_settings: dict | None = None) -> Card:
    """The card for ``incident`` as seen through ``integration_id``, whose settings (read when not given) say
    which labels come first, or give the template of the card's title and lines. A report has a card of its
    own, the same on every integration."""
    if is_report(incident):
        from chalicelib.core import reports  # builds its card from this module's Card

        return reports.card(incident, integration_id)
    if integration_settings is None:
        integration_settings = (integrations.get(integration_id) or {}).get("settings", {})
    page = incident_page(integration_id, incident["id"])
    tz = zone(incident.get("timezone"))
    buttons, menu = _buttons(incident)
    acted_by, acted_by_en = _acted_by(incident, tz)
    silenced = local_time(incident.get("silenced_until"), tz) if incidents.is_silenced(incident) else ""
    facts, lead = ordered_labels(incident.get("labels", {}), integration_settings.get("label_order", LABEL_ORDER))
    card = Card(
        incident_id=incident["id"], title=incident["title"], severity=incident["severity"],
        severity_zh=SEVERITY_TEXT[incident["severity"]][0], severity_en=SEVERITY_TEXT[incident["severity"]][1],
        status=incident["status"], status_zh=STATUS_TEXT[incident["status"]][0],
        status_en=STATUS_TEXT[incident["status"]][1], description=incident.get("description", ""),
        facts=facts, lead=lead, started_at=local_time(incident.get("started_at"), tz),
        acted_by=acted_by, acted_by_en=acted_by_en, silenced_until=silenced,
        silence_id=incident.get("silence", {}).get("id", "") if silenced else "",
        alert_count=_alert_count(incident), alerts=_alert_lines(incident, tz), alert_total=_alert_total(incident),
        url=page, buttons=buttons, silence_menu=menu,
        war_room=incident["status"] != Status.resolved.value, image_url=incident.get("image_url", ""),
        image=uploaded_image(incident, integration_id))
    template = integration_settings.get("template")
    return _templated(card, template, incident, page) if template else card


def _templated(card: Card, template: dict, incident: dict, page: str) -> Card:
    """The card with the template's title and lines in place of the incident's title, labels and description
    (its state, alerts and buttons stay); the default card, saying why, when the template fails."""
    try:
        rendered = templates.render(template, incident, page)
    except templates.TemplateFailed as exc:
        return card.model_copy(update={"template_error": exc.message})
    return card.model_copy(update={"title": rendered.title or card.title, "facts": rendered.lines,
                                   "lead": len(rendered.lines), "description": "", "templated": True})


def uploaded_image(incident: dict, integration_id: str) -> str:
    """The platform's reference for the incident's picture on ``integration_id``, once uploaded there
    (``incident["images"][integration_id]`` = {"ref", "url", "at"}); "" when not, or made from another url."""
    upload = (incident.get("images") or {}).get(integration_id) or {}
    return upload.get("ref", "") if upload.get("url") == incident.get("image_url") else ""
