"""Alert groups: what Alertmanager and Grafana push, in neutral form, and what an incident keeps of them.

A source kind (``chalicelib.sources``) turns its producer's body into an ``AlertGroup``; this module
says what the group means for its incident: the title, severity, labels and links, and the alerts
merged by fingerprint so that pushes arriving out of order or twice change nothing twice.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Literal

from pydantic import BaseModel, Field

from chalicelib.core.models import Severity

# What an incident keeps of its alerts: the first ones in full (firing first), and a short mark of
# every alert instance it has seen, so that a repeat is told from a new firing however large the group.
MAX_KEPT_ALERTS = 100
KEPT_BYTES = 150_000  # and no more than this of them: a DynamoDB item holds 400 KB in all
MAX_SEEN = 5000
MAX_LABELS = 50
MAX_TEXT = 512
SEVERITY_RANK = {Severity.info.value: 0, Severity.warning.value: 1, Severity.critical.value: 2}
# Go's zero time: how Alertmanager writes the endsAt of an alert that is still firing.
ZERO_TIME = re.compile(r"^0001-01-01T")
RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


class Alert(BaseModel):
    fingerprint: str = Field(min_length=1, max_length=128)
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: float  # epoch seconds
    ends_at: float | None = None
    generator_url: str = ""
    values: dict[str, float | None] = Field(default_factory=dict)  # Grafana: the query values
    image_url: str = ""
    dashboard_url: str = ""
    panel_url: str = ""
    silence_url: str = ""


class AlertGroup(BaseModel):
    """One notification of one producer group: every alert of the group as the producer sees it now."""

    key: str = Field(min_length=1, max_length=4096)  # Alertmanager's groupKey
    status: Literal["firing", "resolved"]
    alerts: list[Alert]
    group_labels: dict[str, str] = Field(default_factory=dict)
    common_labels: dict[str, str] = Field(default_factory=dict)
    common_annotations: dict[str, str] = Field(default_factory=dict)
    external_url: str = ""
    truncated: int = Field(default=0, ge=0)  # alerts the producer left out (max_alerts)

    @property
    def group_id(self) -> str:
        return group_id(self.key)

    def matchers(self) -> dict[str, str]:
        """The labels a silence of this group matches: the group labels, else the common ones."""
        return dict(self.group_labels or self.common_labels)


def group_id(key: str) -> str:
    """A short stable name of a producer's group key, fit for a storage key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def epoch(text: str) -> float | None:
    """An RFC 3339 time as producers write it (0 to 9 fraction digits, any offset); None for Go's zero
    time; ValueError otherwise."""
    if ZERO_TIME.match(text):
        return None
    found = RFC3339.fullmatch(text.strip())
    if not found:
        raise ValueError("not an RFC 3339 time")
    whole, fraction, zone = found.groups()
    moment = dt.datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    return moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def severity(group: AlertGroup) -> str:
    """The highest ``severity`` label among the firing alerts (all alerts when none fires); a value that is
    not critical, warning or info counts as warning."""
    alerts = [a for a in group.alerts if a.status == "firing"] or group.alerts
    found = [a.labels.get("severity", group.common_labels.get("severity", "")).lower() for a in alerts]
    ranks = [SEVERITY_RANK.get(value, SEVERITY_RANK["warning"]) for value in found] or [SEVERITY_RANK["warning"]]
    return next(name for name, rank in SEVERITY_RANK.items() if rank == max(ranks))


def title(group: AlertGroup) -> str:
    """``commonAnnotations.summary``, else the alertname and the group labels."""
    if summary := group.common_annotations.get("summary", "").strip():
        return summary[:MAX_TEXT]
    name = group.common_labels.get("alertname") or group.group_labels.get("alertname")
    others = [f"{k}={v}" for k, v in sorted(group.group_labels.items()) if k != "alertname"]
    if not name:
        names = sorted({a.labels.get("alertname", "") for a in group.alerts} - {""})
        name = ", ".join(names[:3]) + (" …" if len(names) > 3 else "") if names else "alerts"
    return (f"{name} ({', '.join(others)})" if others else name)[:MAX_TEXT]


def links(group: AlertGroup) -> dict[str, str]:
    """Where a person looks further: the first alert's rule and Grafana pages, and the producer's UI."""
    first = next((a for a in group.alerts if a.status == "firing"), group.alerts[0] if group.alerts else None)
    found = {"external": group.external_url}
    if first:
        found.update(generator=first.generator_url, dashboard=first.dashboard_url, panel=first.panel_url,
                     silence=first.silence_url)
    return {name: url[:2048] for name, url in found.items() if url}


def image_url(group: AlertGroup) -> str:
    return next((a.image_url for a in group.alerts if a.image_url and a.status == "firing"),
                next((a.image_url for a in group.alerts if a.image_url), ""))[:2048]


def instance(alert: Alert) -> str:
    """One firing of one alert: the same alert firing again later is another instance."""
    return hashlib.sha256(f"{alert.fingerprint}@{alert.starts_at:.3f}".encode()).hexdigest()[:10]


def fires_anew(group: AlertGroup, seen: list[str]) -> bool:
    """Whether the group brings a firing alert instance the incident has not seen (not a repeat)."""
    known = set(seen)
    return any(a.status == "firing" and instance(a) not in known for a in group.alerts)


def kept(alert: Alert) -> dict:
    """What the incident stores of one alert (the incident page and the card read it)."""
    labels = dict(list(sorted(alert.labels.items()))[:MAX_LABELS])
    summary = alert.annotations.get("summary") or alert.annotations.get("description", "")
    item = {"fingerprint": alert.fingerprint, "status": alert.status,
            "labels": {k[:128]: v[:MAX_TEXT] for k, v in labels.items()}, "summary": summary[:MAX_TEXT],
            "starts_at": alert.starts_at, "ends_at": alert.ends_at, "url": alert.generator_url[:2048],
            "values": dict(list(alert.values.items())[:20]), "image_url": alert.image_url[:2048],
            "dashboard_url": alert.dashboard_url[:2048], "panel_url": alert.panel_url[:2048],
            "silence_url": alert.silence_url[:2048]}
    return {k: v for k, v in item.items() if v not in ("", None, {})}


def merge(stored: list[dict], group: AlertGroup) -> list[dict]:
    """The incident's alerts after one push, by fingerprint: a later firing of an alert replaces the earlier
    one, and a resolution is never undone by a push that arrives late with the same firing."""
    merged = {a["fingerprint"]: a for a in stored}
    for alert in group.alerts:
        before = merged.get(alert.fingerprint)
        late = before is not None and (
            alert.starts_at < before["starts_at"]
            or (alert.starts_at == before["starts_at"] and before["status"] == "resolved" and alert.status == "firing"))
        if not late:
            merged[alert.fingerprint] = kept(alert)
    ordered = sorted(merged.values(), key=lambda a: (a["status"] != "firing", -a["starts_at"], a["fingerprint"]))
    kept_alerts, size = [], 0
    for alert in ordered[:MAX_KEPT_ALERTS]:
        size += len(json.dumps(alert, ensure_ascii=False).encode("utf-8"))
        if size > KEPT_BYTES:
            break
        kept_alerts.append(alert)
    return kept_alerts


def remember(seen: list[str], group: AlertGroup) -> list[str]:
    """``seen`` with the group's alert instances added (the oldest forgotten past MAX_SEEN)."""
    return list(dict.fromkeys(seen + [instance(a) for a in group.alerts]))[-MAX_SEEN:]


def counts(group: AlertGroup) -> dict[str, int]:
    firing = sum(a.status == "firing" for a in group.alerts)
    return {"firing": firing, "resolved": len(group.alerts) - firing, "truncated": group.truncated}
