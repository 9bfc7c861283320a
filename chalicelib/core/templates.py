"""Card templates (模板管理): an integration's own title and lines for the card's custom area.

An integration's setting ``template`` = ``{"title": …, "content": …}`` holds two Jinja2 templates,
rendered in ``core.sandbox`` (bounded in time, size and loops; no Python internals). The title renders to
one line (newlines become spaces) of at most TITLE.limit characters; the content to lines, blank ones
dropped, each ``key: value`` or ``key：value`` (the first separator, a key of at most KEY_CHARS
characters) a field the platform shows as such, any other line a line of text. A template is saved only
when it compiles and renders over sample() (else 422 naming the part and line); at send time a failure
raises TemplateFailed, and the card falls back to the default one.

What a template sees (times are local, in the incident's ``timezone``, China time when unset, e.g.
"12-01 18:00 (UTC+8)"; ``duration()`` reads them):
- ``id``, ``title``, ``description``, ``url`` (the incident page), ``source_url`` (the producer's page),
  ``image_url``, ``source`` (``kind``, ``name``)
- ``severity`` (critical|warning|info) with ``severity_zh``/``severity_en``; ``status``
  (triggered|acknowledged|resolved) with ``status_zh``/``status_en``
- ``labels`` (name → value), ``links`` (generator, external, dashboard, panel, silence → url)
- ``alerts``: the incident's kept alerts, firing first, each ``status`` (firing|resolved) with
  ``status_zh``/``status_en``, ``labels``, ``summary``, ``starts_at``, ``ends_at`` ("" while firing),
  ``values`` (Grafana's query values), ``url``
- ``counts``: ``firing``, ``resolved``, ``not_sent`` (left out by the producer), ``total``
- ``started_at``; ``silenced_until`` ("" unless silenced now); ``last_action``: who acted last
  (``name``, ``action`` ack|resolve|silence|unsilence with ``action_zh``/``action_en``, ``at``), empty if nobody
- helpers ``duration(since, until=None, lang="zh")`` ("1 小时 5 分", "1h 5m"; until the incident's last
  change when not given, so that a card renders the same until the incident changes) and
  ``label_list(labels, names=None, sep=", ")`` ("service=db, instance=db-1"; the ``names`` in their
  order, else all by name).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.common import clock, lazy
from chalicelib.common.errors import Unprocessable
from chalicelib.core import incidents, wording

sandbox = lazy.module("chalicelib.core.sandbox")  # jinja2 loads when a template is first used

KEY_CHARS = 30
# "key: value" (an ASCII colon needs a space after it, so that a URL is no field) or "key：value"
FIELD = re.compile(rf"(?P<key>.{{1,{KEY_CHARS}}}?)(?:：|:\s)\s*(?P<value>.*)")


@dataclass(frozen=True)
class _Part:
    """One of a template's two parts and its bounds: its source in characters, its output in ``unit``."""

    name: str
    source_chars: int
    limit: int
    unit: str  # characters | bytes (UTF-8)

    def size(self, text: str) -> int:
        return len(text.encode("utf-8")) if self.unit == "bytes" else len(text)

    def render(self, source: str, values: dict) -> str:
        if not source.strip():
            return ""
        try:
            if len(source) > self.source_chars:
                raise sandbox.Failed(None, f"longer than {self.source_chars} characters")
            return sandbox.output(sandbox.compiled(source), values, self.limit, self.size, self.unit)
        except sandbox.Failed as failed:
            where = f"template.{self.name}" + (f" line {failed.line}" if failed.line else "")
            raise TemplateFailed(f"{where}: {failed.reason}") from failed


TITLE = _Part("title", source_chars=1000, limit=256, unit="characters")
CONTENT = _Part("content", source_chars=8000, limit=8192, unit="bytes")


class CardTemplate(BaseModel):
    """The ``template`` setting: Jinja2 for the card's title and its custom area (either may be empty)."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(default="", max_length=TITLE.source_chars)
    content: str = Field(default="", max_length=CONTENT.source_chars)

    @model_validator(mode="after")
    def _not_empty(self) -> CardTemplate:
        if not (self.title.strip() or self.content.strip()):
            raise ValueError("a template needs a title or a content")
        return self


class TemplateFailed(Unprocessable):
    """A template that does not compile, fails or goes past a bound; the message names the part and line
    and holds nothing secret (it is shown on the delivery)."""

    code = "template_failed"


@dataclass(frozen=True)
class Rendered:
    title: str  # "" when the template has no title: the card keeps its own
    lines: list[tuple[str, str]]  # (key, value) of a "key: value" line, ("", text) of any other


class Moment(str):
    """A time as the card shows it, that ``duration()`` can read."""

    def __new__(cls, epoch: float, tz: dt.tzinfo) -> Moment:
        moment = super().__new__(cls, wording.local_time(epoch, tz))
        moment._epoch = epoch
        return moment


def check(title: str, content: str) -> None:
    """Refuse (422) a template that does not compile or fails over the sample incident."""
    incident = sample()
    render({"title": title, "content": content}, incident, wording.incident_page("int_sample", incident["id"]))


def render(template: dict, incident: dict, page_url: str) -> Rendered:
    """The card's title and custom lines from ``template`` for ``incident``; TemplateFailed on any failure."""
    values = context(incident, page_url)
    title, content = (part.render(template.get(part.name) or "", values) for part in (TITLE, CONTENT))
    return Rendered(title=" ".join(line.strip() for line in title.splitlines() if line.strip()),
                    lines=[_field(line.strip()) for line in content.splitlines() if line.strip()])



def _field(line: str) -> tuple[str, str]:
    found = FIELD.fullmatch(line)
    if found and found["key"].strip() and found["value"].strip():
        return found["key"].strip(), found["value"].strip()
    return "", line


def context(incident: dict, page_url: str) -> dict:
    """What a template sees of ``incident`` (the module docstring lists it)."""
    tz = wording.zone(incident.get("timezone"))
    severity, status = incident["severity"], incident["status"]
    group = incident.get("alert_group") or {}
    counts = {name: group.get(key, 0) for name, key in (("firing", "firing"), ("resolved", "resolved"),
                                                         ("not_sent", "truncated"))}
    return {
        "id": incident["id"], "title": incident["title"], "description": incident.get("description", ""),
        "url": page_url, "source_url": incident.get("url", ""), "image_url": incident.get("image_url", ""),
        "source": {k: v for k, v in (incident.get("source") or {}).items() if k in ("kind", "name")},
        "severity": severity, "severity_zh": wording.SEVERITY_TEXT[severity][0],
        "severity_en": wording.SEVERITY_TEXT[severity][1], "status": status,
        "status_zh": wording.STATUS_TEXT[status][0], "status_en": wording.STATUS_TEXT[status][1],
        "labels": dict(incident.get("labels") or {}), "links": dict(incident.get("links") or {}),
        "alerts": [_alert(alert, tz) for alert in incident.get("alerts") or []],
        "counts": {**counts, "total": sum(counts.values())},
        "started_at": _moment(incident.get("started_at"), tz),
        "silenced_until": _moment(incident.get("silenced_until"), tz) if incidents.is_silenced(incident) else "",
        "last_action": _last_action(incident, tz),
        "duration": _as_of(incident, tz), "label_list": label_list,
    }


def _as_of(incident: dict, tz: dt.tzinfo):
    """``duration`` counting up to the incident's last change rather than to now: a card shows the incident as
    of that change, and renders the same until the next one (so an unchanged card is never sent again)."""
    changed = _moment(incident.get("updated_at"), tz)

    def duration_until_change(since: Moment | str, until: Moment | str | None = None, lang: str = "zh") -> str:
        return duration(since, until or changed or None, lang)

    return duration_until_change


def _alert(alert: dict, tz: dt.tzinfo) -> dict:
    zh, en = wording.ALERT_STATUS_TEXT[alert["status"]]
    return {"status": alert["status"], "status_zh": zh, "status_en": en, "labels": dict(alert.get("labels") or {}),
            "summary": alert.get("summary", ""), "starts_at": _moment(alert.get("starts_at"), tz),
            "ends_at": _moment(alert.get("ends_at"), tz), "values": dict(alert.get("values") or {}),
            "url": alert.get("url", "")}


def _last_action(incident: dict, tz: dt.tzinfo) -> dict:
    last = incident.get("last_action")
    if not last:
        return {}
    zh, en = wording.ACTION_TEXT[last["action"]]
    return {"action": last["action"], "action_zh": zh, "action_en": en, "name": last["name"],
            "at": _moment(last["at"], tz)}


def _moment(value: str | float | None, tz: dt.tzinfo) -> Moment | str:
    if not value:
        return ""
    return Moment(value if isinstance(value, (int, float)) else clock.parse_iso(value), tz)


def duration(since: Moment | str, until: Moment | str | None = None, lang: str = "zh") -> str:
    """How long from ``since`` to ``until`` (now when not given): "1 小时 5 分" ("1h 5m" with lang="en");
    "" when ``since`` is no time."""
    if not isinstance(since, Moment):
        return ""
    end = until._epoch if isinstance(until, Moment) else clock.now()
    seconds = max(0, int(end - since._epoch))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "天", "d"), (hours, "小时", "h"), (minutes, "分", "m"), (seconds, "秒", "s")]
    first = next((n for n, part in enumerate(parts) if part[0]), len(parts) - 1)
    shown = [part for part in parts[first:first + 2] if part[0]] or [parts[-1]]  # the largest unit and the next
    return " ".join(f"{n} {zh}" if lang == "zh" else f"{n}{en}" for n, zh, en in shown)


def label_list(labels: Any, names: Any = None, sep: str = ", ") -> str:
    """``name=value`` of ``labels`` joined by ``sep``: the ``names`` in their order, else all by name."""
    if not isinstance(labels, dict):
        return ""
    chosen = [str(n) for n in dict.fromkeys(names)] if names else sorted(labels)
    return str(sep).join(f"{name}={labels[name]}" for name in chosen if name in labels)


def sample() -> dict:
    """An incident with everything a template can show: what a template is tried on before it is saved."""
    now = clock.now()
    at = lambda minutes: clock.iso(now - minutes * 60)  # noqa: E731
    labels = {"alertname": "HighLatency", "severity": "critical", "service": "checkout", "instance": "10.0.3.7:9100",
              "job": "node", "namespace": "prod", "cluster": "cn-north-1"}
    return {
        "id": "am.sample.1", "title": "结账服务延迟过高 Checkout latency high", "severity": "critical",
        "status": "acknowledged", "description": "p99 延迟 2.3 s 超过 1 s 阈值 (p99 latency 2.3 s over the 1 s "
        "threshold)\nRunbook: https://wiki.example.com/runbooks/checkout-latency", "labels": labels,
        "url": "http://prometheus.example.com/graph?g0.expr=latency", "image_url": "https://grafana.example.com/a.png",
        "links": {"generator": "http://prometheus.example.com/graph?g0.expr=latency",
                  "external": "http://alertmanager.example.com", "dashboard": "https://grafana.example.com/d/abc",
                  "panel": "https://grafana.example.com/d/abc?viewPanel=2",
                  "silence": "http://alertmanager.example.com/#/silences/new"},
        "source": {"id": "am", "kind": "alertmanager", "name": "Prometheus 生产"}, "timezone": "Asia/Shanghai",
        "started_at": at(65), "silenced_until": clock.iso(now + 7200),
        "last_action": {"action": "ack", "id": "m-li", "name": "李雷", "at": at(5)},
        "alert_group": {"status": "firing", "firing": 2, "resolved": 1, "truncated": 1},
        "alerts": [
            {"fingerprint": f"{n:016x}", "status": status, "summary": f"{instance} p99 {value} s",
             "labels": {**labels, "instance": instance}, "starts_at": now - (65 - n) * 60,
             "ends_at": now - 60 if status == "resolved" else None, "values": {"A": value, "B": None},
             "url": "http://prometheus.example.com/graph?g0.expr=latency"}
            for n, (status, instance, value) in enumerate((("firing", "10.0.3.7:9100", 2.3),
                                                           ("firing", "10.0.3.8:9100", 1.7),
                                                           ("resolved", "10.0.3.9:9100", 1.2)))],
    }
