"""Fan-out: a notification (or an incident change) becomes one delivery job per card.

A member is reached on the integrations they chose (个人渠道, ``channels``), by default every one where
they are bound; a chosen one they are not linked on, or every one when they are linked nowhere, is
recorded as ``unbound`` (未关联应用, or 已离职 where a departure revoked the binding) so the admin sees
why nothing arrived. A war room is one more
chat of its incident. Each job sends or updates exactly one card; the callers queue them
(``common.queues``), so what a notification becomes is decided here and sent in one place.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.common import clock
from chalicelib.core import incidents, reports
from chalicelib.core.models import DeliveryJob, Notification, RoomJob, Targets
from chalicelib.delivery import pipeline
from chalicelib.flows import offboarding, warroom
from chalicelib.platforms import adapter_class
from chalicelib.store import chats, deliveries, involvements, people
from chalicelib.store import integrations as integration_store

UNBOUND = "未关联应用: {member} has not opened the app on this integration yet"


@dataclass
class Accepted:
    """A notification applied: the incident as it now is, the cards to send or update, and the war rooms
    it opens by itself."""

    incident: dict
    deliveries: list[DeliveryJob] = field(default_factory=list)
    rooms: list[RoomJob] = field(default_factory=list)


def accept(notification: Notification) -> Accepted:
    """Apply a producer's notification (an incident or a report); returns its record and jobs, to be queued."""
    if notification.report:
        incident, changed = reports.ingest(notification.report)
    else:
        incident, changed = incidents.ingest(notification.incident)
    return applied(incident, changed, notification.targets)


def applied(incident: dict, changed: bool, targets: Targets) -> Accepted:
    """The jobs of an incident a producer just sent: cards for ``targets`` (once each), updates of the cards
    already delivered when it changed, its failed deliveries tried again, and the war rooms it opens itself."""
    silenced = incidents.is_silenced(incident)
    opened = changed and incident["version"] == 1  # created just now: nothing was delivered yet
    earlier = [] if opened else deliveries.of(incident["id"])  # before this notification adds any
    known = {} if silenced else {i["id"]: i for i in integration_store.all()}  # once, for targets and rooms
    accepted = Accepted(incident, [] if silenced else _target_jobs(incident["id"], targets, known, earlier))
    if silenced and (targets.members or targets.chats):
        incidents.note(incident["id"], "suppressed", f"silenced until {incident['silenced_until']}")
    if changed:
        accepted.deliveries += refresh_jobs(earlier)
        accepted.rooms = warroom.auto_rooms(incident, list(known.values()))
    if not silenced:  # sent again: what failed before may go through now (e.g. a platform setting was fixed)
        queued = {job.target_key for job in accepted.deliveries}
        accepted.deliveries += [job for job in pipeline.retried(earlier) if job.target_key not in queued]
    return accepted


def _target_jobs(incident_id: str, targets: Targets, known: dict[str, dict],
                 earlier: list[dict]) -> list[DeliveryJob]:
    jobs: list[DeliveryJob] = []
    if targets.members and not known:
        incidents.note(incident_id, "undeliverable", "no integration is configured, members were not reached")
    recorded = {record["target_key"] for record in earlier}
    for member_id in dict.fromkeys(targets.members):
        jobs += _member_jobs(incident_id, member_id, known, recorded)
    mentions = {"mentions": list(dict.fromkeys(targets.members))} if targets.members else {}
    for target in targets.chats:
        job = DeliveryJob(incident_id=incident_id, integration_id=target.integration_id,
                          kind="chat", target=target.chat_id)
        problem = _chat_problem(target.integration_id, target.chat_id, known)
        if _record(job, "failed" if problem else "pending", problem, known, **mentions) and not problem:
            jobs.append(job)
    return jobs


def _member_jobs(incident_id: str, member_id: str, known: dict[str, dict], recorded: set[str]) -> list[DeliveryJob]:
    member, bindings = people.reachable(member_id)
    bound = {b["integration_id"]: b for b in bindings}
    paged = channels(member, bound, known)
    # The member's involvement is written with their first new record (an existing one had it written already).
    noted = member is None
    if not noted and not paged:
        involvements.note(member_id, incident_id, "targeted")
    jobs = []
    for integration_id in paged:
        binding = bound.get(integration_id)
        target = binding["user_id"] if binding else f"member:{member_id}"
        job = DeliveryJob(incident_id=incident_id, integration_id=integration_id, kind="user", target=target)
        along = None if noted else involvements.noting(member_id, incident_id, "targeted")
        if member is None:
            _record(job, "failed", f"member {member_id} does not exist", known)
        elif binding is None:
            reason = offboarding.left_reason(member, integration_id) or UNBOUND.format(member=member_id)
            noted = _record(job, "unbound", reason, known, along, member_id=member_id) or noted
        elif _record(job, "pending", None, known, along, member_id=member_id):
            noted = True
            if (unbound := f"{integration_id}#user#member:{member_id}") in recorded:
                deliveries.remove(incident_id, unbound)  # linked since
            jobs.append(job)
    return jobs


def channels(member: dict | None, bound: dict[str, dict], known: dict[str, dict]) -> list[str]:
    """The integrations a member is paged on (个人渠道): those they chose (``channels``), else every one where
    they are bound; a member bound nowhere is recorded ``unbound`` on every one that reaches people."""
    reaching = sorted(i for i, item in known.items() if adapter_class(item["platform"]).reaches_people)
    chosen = (member or {}).get("channels")
    if chosen:
        return [i for i in chosen if i in reaching]
    return [i for i in reaching if i in bound] or reaching


def _chat_problem(integration_id: str, chat_id: str, known: dict[str, dict]) -> str | None:
    if integration_id not in known:
        return f"integration {integration_id} does not exist"
    chat = chats.get(integration_id, chat_id)
    if chat is None or not chat.get("active", False):
        return f"chat {chat_id} is not known to this integration (install the app in the group first)"
    return None


def _record(job: DeliveryJob, state: str, error: str | None, known: dict[str, dict], along: dict | None = None,
            **extra: object) -> bool:
    """Create the delivery record once, with its integration's platform and name (the incident's view
    still says where the card went once the integration is deleted); True when created now (``along``
    written with it). A group's record keeps the targeted members its message @s (``mentions``)."""
    integration = known.get(job.integration_id)
    labels = {"platform": integration["platform"], "integration_name": integration["name"]} if integration else {}
    return deliveries.ensure({"incident_id": job.incident_id, "target_key": job.target_key,
                              "integration_id": job.integration_id, "kind": job.kind, "target": job.target,
                              "state": state, "error": error, "created_at": clock.iso(), **labels, **extra}, along)


def room_jobs(opened: warroom.Opened) -> list[DeliveryJob]:
    """A new room's card, and 1:1 cards for its responders (a latecomer too) where the room cannot carry
    buttons; whoever holds a card of the incident already keeps that one."""
    if not (opened.created or opened.joined):
        return []
    jobs, integration = [], integration_store.get(opened.integration_id)
    known = {opened.integration_id: integration} if integration else {}
    wanted = ([("chat", opened.target, {})] if opened.created else []) + [
        ("user", user, {"member_id": member}) for user, member in opened.responders.items()]
    for kind, target, extra in wanted:
        job = DeliveryJob(incident_id=opened.incident_id, integration_id=opened.integration_id, kind=kind,
                          target=target)
        if _record(job, "pending", None, known, **extra):
            jobs.append(job)
    return jobs


def refresh_jobs(records: list[dict], skip_target_key: str | None = None) -> list[DeliveryJob]:
    """Jobs that bring every delivered card among an incident's delivery ``records`` up to date."""
    return [DeliveryJob(incident_id=d["incident_id"], integration_id=d["integration_id"], kind=d["kind"],
                        target=d["target"])
            for d in records
            if d.get("ref") and d["target_key"] != skip_target_key]

