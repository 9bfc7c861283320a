"""Cards that are not one incident's own: a receiver's digest, the low-quota warning, and the word
that a war room asked for from a card could not be opened; and the direct message a click's answer
asks for.

Once the month's call budget runs low, each new warning or info card is folded into one digest per
receiver per interval instead of costing a call of its own, and the integration's admins hear
about it once. A notice is sent by the delivery pipeline through the same gate as incident cards
(budget, pacing, send, record); this module says what it shows and how its outcome is marked.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import secrets
from dataclasses import dataclass

from chalicelib.common import clock, queues
from chalicelib.common.config import settings as app_settings
from chalicelib.common.errors import NotFound, Paced, Permanent, PlatformError, QuotaExhausted
from chalicelib.core import cards, incidents, reports, wording
from chalicelib.core.models import DeliveryJob, RoomJob, is_report
from chalicelib.delivery import quota
from chalicelib.platforms.base import Adapter, CommonSettings
from chalicelib.store import deliveries, ephemeral, people

log = logging.getLogger("dutybridge.notices")
DIGEST_LINES = 8  # WeCom shows at most 8 lines; the others show the same for one look
KEEP_SECONDS = 3 * 86400  # a digest's contents outlive its interval while it is paced or retried


FOLDED = {"digest": "本月调用量将尽，已合并到 {at} 的摘要 (monthly budget running low: folded into the digest)",
          "burst": "超出群机器人每分钟条数，已合并到 {at} 的摘要 (over the robot's per-minute limit: folded into "
                   "one message)"}


def fold(job: DeliveryJob, settings: CommonSettings, notice: str = "digest") -> None:
    """Put the incident of ``job`` into its receiver's digest for the current interval: the budget's (every
    ``digest_minutes``) or a robot's burst (the minute its limit counts).

    The first incident of an interval enqueues the digest to go out when the interval ends.
    """
    interval = settings.digest_minutes * 60 if notice == "digest" else 60
    start = int(clock.now() // interval) * interval
    digest = DeliveryJob(incident_id=f"{notice}-{start}", integration_id=job.integration_id, kind=job.kind,
                         target=job.target, notice=notice)
    first = ephemeral.add_to_set(_contents_key(digest), KEEP_SECONDS, job.incident_id)
    deliveries.record(job.incident_id, job.target_key, state="digested", digest=digest.incident_id,
                      error=FOLDED[notice].format(at=wording.local_time(clock.iso(start + interval))))
    if first:
        queues.deliver([digest], delay=math.ceil(start + interval - clock.now()))


def warn_admins(integration_id: str, settings: CommonSettings, budget: quota.Budget) -> None:
    """Once a month: tell the integration's admins that the budget is running low."""
    if not quota.first_warning(integration_id):
        return
    log.warning("integration %s used %d of %s monthly calls", integration_id, budget.used, budget.monthly)
    month = dt.datetime.fromtimestamp(clock.now(), dt.timezone.utc).strftime("%Y%m")
    jobs = []
    for member_id in settings.quota_admins:
        binding = people.binding(member_id, integration_id)
        if binding is None:
            log.warning("quota admin %s has no account on integration %s", member_id, integration_id)
            continue
        jobs.append(DeliveryJob(incident_id=f"quota-{month}", integration_id=integration_id, kind="user",
                                target=binding["user_id"], notice="quota_low"))
    queues.deliver(jobs)


def tell_room_failure(room: RoomJob, reason: str) -> None:
    """The person who pressed 作战室 was told it was on its way: tell them why it is not."""
    binding = people.binding(room.member_id, room.integration_id)
    if binding is None:
        return
    job = DeliveryJob(incident_id=f"roomfail-{int(clock.now())}", integration_id=room.integration_id, kind="user",
                      target=binding["user_id"], notice="war_room_failed")
    ephemeral.put(_contents_key(job), KEEP_SECONDS, incident=room.incident_id, reason=reason)
    queues.deliver([job])


def tell(integration_id: str, user_id: str, message: str) -> None:
    """Send a clicker the text their click's answer could not carry (a link a toast cannot make
    clickable, a refusal a card without toasts cannot show)."""
    job = DeliveryJob(incident_id=f"told-{secrets.token_hex(8)}", integration_id=integration_id, kind="user",
                      target=user_id, notice="direct_message")
    ephemeral.put(_contents_key(job), KEEP_SECONDS, message=message)
    queues.deliver([job])


@dataclass
class Notice:
    """A notice ready to go through the delivery gate (``pipeline``), and the ledger of its outcome: sent
    once, marked so a retried job does not send it again."""

    job: DeliveryJob
    adapter: Adapter
    content: cards.Card | str  # a card, or a direct message's text
    folded: list[str]  # a digest's incidents

    @property
    def critical(self) -> bool:
        return self.job.notice != "digest"  # someone waits for the others

    def parked(self, exc: QuotaExhausted) -> None:
        """A digest whose budget is spent parks its incidents: their cards go out when the month turns."""
        self._mark_folded("parked", exc)

    def low(self, budget: quota.Budget) -> bool:
        return False  # never folded: a digest is one already, and someone waits for the other notices

    def paced(self, exc: Paced) -> None:
        """Nothing to record: the retried job asks again."""

    def burst(self, exc: Paced) -> bool:
        return False  # a notice is never folded: it waits for its slot

    def refused(self, exc: PlatformError) -> None:
        if isinstance(exc, QuotaExhausted):
            self._mark_folded("parked", exc)
        elif isinstance(exc, Permanent):
            self._mark_folded("failed", exc)

    def send(self) -> dict:
        job = self.job
        if isinstance(self.content, str):
            self.adapter.send_text(job.target, self.content)
            return {}
        return self.adapter.send_card(job.kind, job.target, self.content, job.card_key)

    def sent(self, ref: dict) -> str:
        ephemeral.put(_sent_key(self.job), KEEP_SECONDS)
        return "sent"

    def _mark_folded(self, state: str, exc: PlatformError) -> None:
        for incident_id in self.folded:
            deliveries.record(incident_id, self.job.target_key, state=state, error=exc.brief())


def prepare(job: DeliveryJob, adapter: Adapter) -> Notice | None:
    """The notice ``job`` names, or None when it went out already or has nothing left to say."""
    if ephemeral.get(_sent_key(job)):
        return None
    folded = sorted((ephemeral.get(_contents_key(job)) or {}).get("values", [])) if job.notice in FOLDED else []
    content = _message(job) if job.notice == "direct_message" else _card(job, folded, adapter)
    return Notice(job, adapter, content, folded) if content else None


def _contents_key(job: DeliveryJob) -> str:
    return f"notice#{job.target_key}#{job.incident_id}"


def _sent_key(job: DeliveryJob) -> str:
    return f"notice-sent#{job.target_key}#{job.incident_id}"


def _message(job: DeliveryJob) -> str | None:
    """The text ``tell`` kept for this job (None once it expired)."""
    kept = ephemeral.get(_contents_key(job))
    return kept["message"] if kept else None


def _card(job: DeliveryJob, folded: list[str], adapter) -> cards.Card | None:
    if job.notice in FOLDED:
        return _digest_card(job, folded, adapter.settings)
    if job.notice == "quota_low":
        return _warning_card(job, adapter)
    return _room_failure_card(job)


def _digest_card(job: DeliveryJob, folded: list[str], settings: CommonSettings) -> cards.Card | None:
    found = []
    for incident_id in folded:
        try:
            found.append(incidents.get(incident_id))
        except NotFound:
            continue
    if not found:
        return None
    found.sort(key=lambda i: (i["status"] == "resolved", i.get("started_at") or ""))
    lines = [(f"[{wording.SEVERITY_TEXT[i['severity']][0]}] {_state(i)}", i["title"]) for i in found[:DIGEST_LINES]]
    if len(found) > DIGEST_LINES:
        lines[-1] = ("…", f"另有 {len(found) - DIGEST_LINES + 1} 条 (and {len(found) - DIGEST_LINES + 1} more)")
    worst = "warning" if any(i["severity"] == "warning" for i in found) else "info"
    started = int(job.incident_id.removeprefix(f"{job.notice}-"))
    why = (f"本月平台调用量将尽，{settings.digest_minutes} 分钟内的非严重告警合并为一张摘要。"
           f"(The monthly API budget is running low: warnings and infos are grouped.)") if job.notice == "digest" else (
           "一分钟内的告警超出群机器人的条数限制，合并为一条。(More alerts than the robot may post in a minute: "
           "grouped into one message.)")
    if job.notice == "burst":
        worst = "critical" if any(i["severity"] == "critical" for i in found) else worst
    return _notice_card(job, title=f"告警摘要 {len(found)} 条 (Digest of {len(found)} alerts)", severity=worst,
                        description=why, lines=lines, at=clock.iso(started))


def _state(incident: dict) -> str:
    """Where a digest's line stands: an incident's status, a report's outcome."""
    return reports.status_text(incident)[0] if is_report(incident) else wording.STATUS_TEXT[incident["status"]][0]


def _warning_card(job: DeliveryJob, adapter) -> cards.Card:
    budget = quota.budget(job.integration_id, adapter.name, adapter.settings.model_dump())
    share = round(100 * budget.used / budget.monthly) if budget.monthly else 0
    return _notice_card(
        job, title=f"本月调用量已用 {share}% (Monthly API budget {share}% used)", severity="warning",
        description=(f"非严重告警将每 {adapter.settings.digest_minutes} 分钟合并为一张摘要；用完后卡片暂存，"
                     f"下月初自动补发。可在平台升级版本，或调高 monthly_calls。(Warnings and infos are now "
                     f"grouped into digests; when the budget is spent cards wait for the new month.)"),
        lines=[("已用 Used", f"{budget.used} / {budget.monthly}")], at=clock.iso())


def _room_failure_card(job: DeliveryJob) -> cards.Card | None:
    kept = ephemeral.get(_contents_key(job))
    try:
        incident = incidents.get(kept["incident"]) if kept else None
    except NotFound:
        incident = None
    if incident is None:
        return None
    return _notice_card(
        job, title="作战室未能开启 (The war room could not be opened)", severity=incident["severity"],
        description=kept["reason"], lines=[("故障 Incident", incident["title"])], at=clock.iso(),
        url=f"{app_settings().public_base_url}/app/{job.integration_id}/incidents/{incident['id']}")


def _notice_card(job: DeliveryJob, title: str, severity: str, description: str,
                 lines: list[tuple[str, str]], at: str, url: str = "") -> cards.Card:
    zh, en = wording.SEVERITY_TEXT[severity]
    return cards.Card(
        incident_id=job.incident_id, title=title, severity=severity, severity_zh=zh, severity_en=en,
        status="notice", status_zh="通知", status_en="Notice", description=description, facts=lines,
        started_at=wording.local_time(at), acted_by="", silenced_until="",
        url=url or f"{app_settings().public_base_url}/app/{job.integration_id}", buttons=[], silence_menu=[],
        war_room=False, notice=True)
