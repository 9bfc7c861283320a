"""How incidents are worded wherever people read them (cards, templates, pages): the Chinese and English
words for severities, states and actions, local times, and the incident page's address."""
from __future__ import annotations

import datetime as dt
import zoneinfo

from chalicelib.common import clock
from chalicelib.common.config import settings

CHINA = dt.timezone(dt.timedelta(hours=8))
SEVERITY_TEXT = {"critical": ("严重", "Critical"), "warning": ("警告", "Warning"), "info": ("提示", "Info")}
STATUS_TEXT = {"triggered": ("待处理", "Triggered"), "acknowledged": ("处理中", "Acknowledged"),
               "resolved": ("已关闭", "Resolved")}
ACTION_TEXT = {"ack": ("认领", "acknowledged"), "resolve": ("关闭", "closed"), "silence": ("屏蔽", "silenced"),
               "unsilence": ("取消屏蔽", "unsilenced")}
ALERT_STATUS_TEXT = {"firing": ("触发", "firing"), "resolved": ("恢复", "resolved")}


def zone(name: str | None) -> dt.tzinfo:
    """A source's ``timezone`` setting; China time when unset (or no longer known)."""
    try:
        return zoneinfo.ZoneInfo(name) if name else CHINA
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return CHINA


def local_time(iso: str | float | None, tz: dt.tzinfo = CHINA) -> str:
    if not iso:
        return ""
    moment = dt.datetime.fromtimestamp(iso if isinstance(iso, (int, float)) else clock.parse_iso(iso), tz)
    offset = moment.utcoffset() or dt.timedelta()
    hours, rest = divmod(int(offset.total_seconds()) // 60, 60)
    shown = f"UTC{'+' if offset >= dt.timedelta() else '-'}{abs(hours)}" + (f":{rest:02d}" if rest else "")
    return moment.strftime("%m-%d %H:%M") + f" ({shown})"


def incident_page(integration_id: str, incident_id: str) -> str:
    return f"{settings().public_base_url}/app/{integration_id}/incidents/{incident_id}"
