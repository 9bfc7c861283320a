"""Reports (seed 001, DataWind's 仪表盘订阅, 数据集同步结果 and 图表监控报警): kept and shown through the incident
machinery, so a report reaches its targets with the same delivery records, idempotence, retries, pacing, budget
and parking as an incident's cards, and ``GET /incidents/{id}`` says where it went.

A report is a record of kind "report" in the incidents table under ``report.<its id>`` (core.models keeps that
prefix from incidents and sources). It is stored closed: there is nothing to acknowledge, silence or open a war
room for (``incidents.check_actionable`` refuses every action). Its card is a notice: the picture, title,
outcome, text, kind and link, no buttons. Sent again under the same id, a report replaces what it shows and
its delivered cards are updated.
"""
from __future__ import annotations

from chalicelib.common import clock
from chalicelib.core import incidents
from chalicelib.core.cards import Card, uploaded_image
from chalicelib.core.models import REPORT_KIND, Report, Status
from chalicelib.core.wording import SEVERITY_TEXT, incident_page, local_time

KIND_TEXT = {"dashboard": ("仪表盘订阅", "Dashboard"), "dataset_sync": ("数据集同步", "Dataset sync"),
             "chart_alarm": ("图表监控报警", "Chart alarm")}
KIND_LABEL = "类型 Kind"
STATUS_TEXT = {"success": ("成功", "Success"), "failed": ("失败", "Failed"), None: ("通知", "Notice")}
REPORTED = "reported"  # the timeline entry of a report's first arrival


def unsaved(report: Report) -> dict:
    """The record a report's first arrival makes, as it is stored."""
    now = clock.iso()
    return {"id": report.record_id, "kind": REPORT_KIND, "status": Status.resolved.value, **_shown(report),
            "version": 1, "created_at": now, "updated_at": now, "started_at": now, "reported_at": now,
            "timeline": [incidents.entry(REPORTED, incidents.PRODUCER, "api")]}


def ingest(report: Report) -> tuple[dict, bool]:
    """Keep a producer's report, or replace what an earlier one under its id shows; returns (record, changed)."""
    shown = _shown(report)
    return incidents.create_or_change(report.record_id, lambda: unsaved(report), lambda record: _replace(record, shown))


def _shown(report: Report) -> dict:
    """What the record keeps of ``report``, under the names incident cards, pages and pictures read (no None:
    the table keeps none, and a re-sent report must compare equal to what was kept)."""
    data = report.model_dump(mode="json")
    return {"title": data["title"], "description": data["text"], "url": data["url"], "image_url": data["image_url"],
            "severity": "warning" if report.status == "failed" else "info",
            "report": {"id": data["id"], "kind": data["kind"],
                       **({"status": data["status"]} if data["status"] else {})}}


def _replace(record: dict, shown: dict) -> bool:
    changed = {name: value for name, value in shown.items() if record.get(name) != value}
    if not changed:
        return False
    record.update(changed, reported_at=clock.iso())
    incidents.append(record, incidents.entry("updated", incidents.PRODUCER, "api"))
    return True


def status_text(record: dict) -> tuple[str, str]:
    """The report's outcome in words: 成功 Success, 失败 Failed, or 通知 Notice when it has none."""
    return STATUS_TEXT[record["report"].get("status")]


def card(record: dict, integration_id: str) -> Card:
    """The report's notice card: its severity colours the header (a failure warns), its link opens the report
    (the incident page when it has none, which shows it whole)."""
    report, severity = record["report"], record["severity"]
    status_zh, status_en = status_text(record)
    kind_zh, kind_en = KIND_TEXT[report["kind"]]
    return Card(
        incident_id=record["id"], title=record["title"], severity=severity, severity_zh=SEVERITY_TEXT[severity][0],
        severity_en=SEVERITY_TEXT[severity][1], status=report.get("status", "notice"), status_zh=status_zh,
        status_en=status_en, description=record.get("description", ""),
        facts=[(KIND_LABEL, f"{kind_zh} {kind_en}")], lead=1,
        started_at=local_time(record["reported_at"]), acted_by="", silenced_until="",
        url=record.get("url") or incident_page(integration_id, record["id"]), buttons=[], silence_menu=[],
        war_room=False, notice=True, image_url=record.get("image_url", ""),
        image=uploaded_image(record, integration_id))
