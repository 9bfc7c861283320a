"""The platform-neutral incident card; each platform adapter renders it in its own format."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

from pydantic import BaseModel

from chalicelib.common import clock
from chalicelib.common.config import settings
from chalicelib.core import incidents
from chalicelib.core.models import Action, Status

CHINA = dt.timezone(dt.timedelta(hours=8))
SEVERITY_TEXT = {"critical": ("严重", "Critical"), "warning": ("警告", "Warning"), "info": ("提示", "Info")}
STATUS_TEXT = {"triggered": ("待处理", "Triggered"), "acknowledged": ("处理中", "Acknowledged"),
               "resolved": ("已关闭", "Resolved")}
ACTION_TEXT = {"ack": ("认领", "acknowledged"), "resolve": ("关闭", "closed"), "silence": ("屏蔽", "silenced")}
SILENCE_CHOICES = (120, 360, 1440)  # 2 h on the card itself, longer ones behind a menu
# The 作战室 button opens the incident's group; it is no incident action, so it has its own id.
WAR_ROOM = "war_room"
WAR_ROOM_TEXT = ("作战室", "War room")


class Button(BaseModel):
    action: Action
    zh: str
    en: str
    minutes: int | None = None


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
    labels: list[tuple[str, str]]
    started_at: str
    acted_by: str
    acted_by_en: str = ""  # the same in English, for platforms that show an English card beside the Chinese
    silenced_until: str
    url: str
    buttons: list[Button]
    silence_menu: list[Button]
    war_room: bool  # offer the 作战室 button (the adapter drops it where no room can be opened)
    notice: bool = False  # a digest or warning: no incident behind it, nothing to click

    def digest(self) -> str:
        """Fingerprint of what the card shows; an unchanged card is never updated again."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:32]


def local_time(iso: str | None) -> str:
    if not iso:
        return ""
    moment = dt.datetime.fromtimestamp(clock.parse_iso(iso), CHINA)
    return moment.strftime("%m-%d %H:%M") + " (UTC+8)"


def incident_page(integration_id: str, incident_id: str) -> str:
    return f"{settings().public_base_url}/app/{integration_id}/incidents/{incident_id}"


def _acted_by(incident: dict) -> tuple[str, str]:
    """Who acted last: (the Chinese line with its English gloss, the English line)."""
    last = incident.get("last_action")
    if not last:
        return "", ""
    zh, en = ACTION_TEXT[last["action"]]
    at = local_time(last["at"])
    return f"{last['name']} {zh}于 {at} ({en})", f"{last['name']} {en} at {at}"


def _buttons(incident: dict) -> tuple[list[Button], list[Button]]:
    if incident["status"] == Status.resolved.value:
        return [], []
    buttons = []
    if incident["status"] == Status.triggered.value:
        buttons.append(Button(action=Action.ack, zh="认领", en="Acknowledge"))
    buttons.append(Button(action=Action.resolve, zh="关闭", en="Close"))
    silence = [Button(action=Action.silence, zh=f"屏蔽 {m // 60} 小时", en=f"Silence {m // 60}h", minutes=m)
               for m in SILENCE_CHOICES]
    return buttons + silence[:1], silence[1:]


def build(incident: dict, integration_id: str) -> Card:
    """The card for ``incident`` as seen through ``integration_id``."""
    buttons, menu = _buttons(incident)
    acted_by, acted_by_en = _acted_by(incident)
    silenced = local_time(incident.get("silenced_until")) if incidents.is_silenced(incident) else ""
    return Card(
        incident_id=incident["id"], title=incident["title"], severity=incident["severity"],
        severity_zh=SEVERITY_TEXT[incident["severity"]][0], severity_en=SEVERITY_TEXT[incident["severity"]][1],
        status=incident["status"], status_zh=STATUS_TEXT[incident["status"]][0],
        status_en=STATUS_TEXT[incident["status"]][1], description=incident.get("description", ""),
        labels=sorted(incident.get("labels", {}).items()), started_at=local_time(incident.get("started_at")),
        acted_by=acted_by, acted_by_en=acted_by_en, silenced_until=silenced,
        url=incident_page(integration_id, incident["id"]), buttons=buttons, silence_menu=menu,
        war_room=incident["status"] != Status.resolved.value)
