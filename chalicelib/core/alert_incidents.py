"""One incident per producer alert group, following the group's alerts in place.

Alertmanager sends the whole group every time (and the same body again on repeats, retries and
timeouts), so applying a push is idempotent: alerts are merged by fingerprint, and only what a person
would see differently counts as a change. A push the incident's newer state already covers (SQS may
hand pushes over out of order) never turns it back. Once the incident is resolved, by the producer or
by a person's 关闭, only an alert firing anew (an instance the incident has not seen) opens the group's
next incident, which links to the closed one; a repeat of what was closed changes nothing.
"""
from __future__ import annotations

from chalicelib.common import clock
from chalicelib.common.errors import StorageConflict
from chalicelib.core import alerts
from chalicelib.core.alerts import AlertGroup
from chalicelib.core.incidents import PRODUCER, RANK, append, entry, mutate
from chalicelib.core.models import Status
from chalicelib.store import alert_groups
from chalicelib.store import incidents as store

# What a person sees of the group: a change in any of these updates the cards.
SHOWN = ("title", "severity", "status", "labels", "description", "url", "links", "image_url", "alerts")


def ingest(source: dict, group: AlertGroup, received_at: float) -> tuple[dict | None, bool, bool]:
    """Apply one push of ``source``; returns (the incident or None, changed, newly opened)."""
    pointer = alert_groups.get(source["id"], group.group_id)
    current = store.get(pointer["incident_id"]) if pointer else None
    closed = current is not None and current["status"] == Status.resolved.value
    if current is not None and not (closed and alerts.fires_anew(group, current.get("alert_seen", []))):
        incident, changed = mutate(current["id"], lambda incident: _merge(incident, group, received_at), current)
        return incident, changed, False
    if not any(a.status == "firing" for a in group.alerts):
        return current, False, False  # the end of something never shown (or a closed group's late resolution)
    generation = pointer["generation"] + 1 if pointer else 1
    incident = _opened(source, group, received_at, f"{source['id']}.{group.group_id}.{generation}", current)
    try:
        store.create(incident)
        created = True
    except StorageConflict as conflict:  # the same push handled twice at once: the other one opened it
        incident, created = mutate(incident["id"], lambda again: _merge(again, group, received_at),
                                   conflict.current)[0], False
    alert_groups.advance(source["id"], group.group_id, incident["id"], generation)
    if created and current is not None:
        mutate(current["id"], lambda old: append(old, entry("refired", PRODUCER, source["kind"],
                                                             note=incident["id"])) or True)
    return incident, created, created


def _opened(source: dict, group: AlertGroup, received_at: float, incident_id: str, previous: dict | None) -> dict:
    firing = [a.starts_at for a in group.alerts if a.status == "firing"]
    incident = {"id": incident_id, "status": Status.triggered.value, "version": 1, "created_at": clock.iso(),
                "updated_at": clock.iso(), "started_at": clock.iso(min(firing)), "timeline": [],
                "source": {"id": source["id"], "kind": source["kind"], "name": source["name"]},
                "timezone": source.get("settings", {}).get("timezone", ""),
                **({"previous_incident_id": previous["id"]} if previous else {})}
    _merge(incident, group, received_at)
    incident["timeline"] = [entry(Status.triggered.value, PRODUCER, source["kind"], note=_count_note(incident))]
    return incident


def _merge(incident: dict, group: AlertGroup, received_at: float) -> bool:
    before = _shown(incident)
    incident["alerts"] = alerts.merge(incident.get("alerts", []), group)
    incident["alert_seen"] = alerts.remember(incident.get("alert_seen", []), group)
    if received_at >= incident.get("alert_group", {}).get("received_at", 0):
        incident["alert_group"] = {"key": group.key, "status": group.status, **alerts.counts(group),
                                   "group_labels": group.group_labels, "common_labels": group.common_labels,
                                   "matchers": group.matchers(), "external_url": group.external_url,
                                   "received_at": received_at}
        incident.update(_fields(group))
        if group.status == "resolved":  # the whole group: an alert it no longer carries has resolved too
            incident["alerts"] = [{**a, "status": "resolved"} for a in incident["alerts"]]
    after = _shown(incident)
    if after == before:
        return False
    if _all_resolved(incident) and RANK[incident["status"]] < RANK[Status.resolved.value]:
        incident["status"] = Status.resolved.value
        append(incident, entry(Status.resolved.value, PRODUCER, incident["source"]["kind"],
                               note=_count_note(incident)))
    elif before["group"] != after["group"] and incident.get("timeline"):
        append(incident, entry("alerts", PRODUCER, incident["source"]["kind"], note=_count_note(incident)))
    return True


def _shown(incident: dict) -> dict:
    """What a person sees of the group. Query values are kept but left out: Grafana sends each repeat with
    the values of its latest evaluation, and a repeat must not update the cards."""
    shown = {name: incident.get(name) for name in SHOWN} | {"group": _summary(incident.get("alert_group"))}
    shown["alerts"] = [{k: v for k, v in a.items() if k != "values"} for a in shown["alerts"] or []]
    return shown


def _all_resolved(incident: dict) -> bool:
    return incident.get("alert_group", {}).get("status") == "resolved"


def _summary(group: dict | None) -> dict:
    return {k: v for k, v in (group or {}).items() if k != "received_at"}


def _fields(group: AlertGroup) -> dict:
    found = alerts.links(group)
    labels = dict(list(sorted(group.common_labels.items()))[:alerts.MAX_LABELS])
    return {"title": alerts.title(group), "severity": alerts.severity(group),
            "labels": {k[:128]: v[:alerts.MAX_TEXT] for k, v in labels.items()},
            "description": group.common_annotations.get("description", "")[:8000],
            "url": found.get("generator") or found.get("external", ""), "links": found,
            "image_url": alerts.image_url(group)}


def _count_note(incident: dict) -> str:
    """The alert count as the timeline says it, e.g. ``3 firing, 1 resolved``."""
    group = incident.get("alert_group", {})
    note = f"{group.get('firing', 0)} firing, {group.get('resolved', 0)} resolved"
    return note + (f", {group['truncated']} more not sent" if group.get("truncated") else "")


def resolved_at_source(incident_id: str, note: str) -> tuple[dict, bool]:
    """The producer no longer lists any alert of the group (it resolved while silenced, and Alertmanager
    never pushes such a resolution): the incident and its alerts resolve, said on the timeline."""
    def change(incident: dict) -> bool:
        if incident["status"] == Status.resolved.value:
            return False
        incident["status"] = Status.resolved.value
        incident["alerts"] = [{**a, "status": "resolved"} for a in incident.get("alerts", [])]
        group = incident.get("alert_group", {})
        total = group.get("firing", 0) + group.get("resolved", 0)
        incident["alert_group"] = {**group, "status": "resolved", "firing": 0, "resolved": total}
        append(incident, entry(Status.resolved.value, PRODUCER, incident["source"]["kind"], note=note))
        return True

    return mutate(incident_id, change)
