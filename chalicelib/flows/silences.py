"""Silences that are real: 屏蔽 on an incident from Alertmanager or Grafana silences its alert group there,
取消屏蔽 expires that silence.

The producer is asked first and the incident changes only once it said yes, so a card never says
"silenced" when the alerts are not; when the producer cannot be reached or refuses, the person is told
why and the timeline records it. An incident without a silence API behind it is silenced in dutybridge
alone (its notifications are held back), as before.
"""
from __future__ import annotations

import logging

from chalicelib.common import sealing
from chalicelib.core import alert_incidents, incidents, wording
from chalicelib.core.alerts import group_id
from chalicelib.core.models import Action, Status
from chalicelib.sources import kind
from chalicelib.sources.silences import SilenceApi, SilenceFailed
from chalicelib.store import alert_groups, deliveries
from chalicelib.store import incidents as incident_store
from chalicelib.store import sources as source_store

log = logging.getLogger("dutybridge.silences")
GONE = "{label} 已不再列出这些告警：屏蔽期间已恢复 (resolved while silenced: {label} no longer lists the alerts)"

NO_MATCHERS = ("无法在 {label} 中屏蔽：告警组没有共同标签 (the alert group has no labels in common to silence on; "
               "nothing was silenced)")


def api_of(incident: dict) -> SilenceApi | None:
    """The silence API of the source the incident came from, if that source has one configured."""
    source_ref = incident.get("source")
    source = source_store.get(source_ref["id"]) if source_ref else None
    if source is None:
        return None
    secrets = sealing.unseal(source["sealed"]) if source.get("sealed") else {}
    return kind(source["kind"]).silences(source["settings"], secrets)


def in_source(incident_id: str, action: Action, member: dict, minutes: int | None,
              integration_id: str | None) -> dict | None:
    """Make (silence) or expire (unsilence) the incident's silence in its source before the incident
    changes; returns the silence made ({"id", "backend"}) or None. Raises Conflict when the incident's
    state refuses the action anyway, SilenceFailed when the source does."""
    incident = incidents.get(incident_id)
    incidents.check_allowed(incident, action)
    api = api_of(incident)
    if api is None:
        return None
    try:
        if action is Action.unsilence:
            if incident.get("silence"):
                api.expire(incident["silence"]["id"])
            return None
        matchers = incident.get("alert_group", {}).get("matchers")
        if not matchers:
            raise SilenceFailed(NO_MATCHERS.format(label=api.label))
        current = incident.get("silence") if incidents.is_silenced(incident) else None
        silence_id = api.create(matchers, minutes or incidents.DEFAULT_SILENCE_MINUTES, member["name"],
                                _comment(incident, member, integration_id), current["id"] if current else None)
        return {"id": silence_id, "backend": api.label}
    except SilenceFailed as exc:
        incidents.note(incident_id, f"{action.value}_failed", exc.message)
        raise


def after(incident: dict, action: Action) -> dict:
    """Follow up a silence change: a silenced group is watched (its resolution will not be pushed), and an
    unsilenced one is asked at once whether its alerts are still there. Returns the incident as it is now."""
    source_ref = incident.get("source")
    if not source_ref or "alert_group" not in incident:
        return incident
    group = group_id(incident["alert_group"]["key"])
    if action is Action.silence and incident.get("silence"):
        alert_groups.watch(source_ref["id"], group, incident["silenced_until"])
        return incident
    alert_groups.unwatch(source_ref["id"], group)
    return settle(incident) or incident


def settle(incident: dict) -> dict | None:
    """Resolve the incident when its source no longer lists any of the group's alerts; the incident as
    resolved, or None when it is not (or the source cannot say)."""
    api = api_of(incident)
    matchers = incident.get("alert_group", {}).get("matchers")
    if api is None or not matchers or incident["status"] == Status.resolved.value:
        return None
    try:
        if api.firing(matchers):
            return None
    except SilenceFailed as exc:
        log.info("cannot ask %s whether %s resolved: %s", api.label, incident["id"], exc.message)
        return None
    resolved, changed = alert_incidents.resolved_at_source(incident["id"], GONE.format(label=api.label))
    return resolved if changed else None


def settle_watched() -> list[dict]:
    """The schedule's pass over the groups silenced at their source: those whose silence ended or whose
    incident closed stop being watched; those whose alerts are gone resolve. Returns the incidents resolved."""
    resolved = []
    for group in alert_groups.watched():
        incident = incident_store.get(group["incident_id"])
        if incident is None or incident["status"] == Status.resolved.value or not incidents.is_silenced(incident):
            alert_groups.unwatch(group["source_id"], group["group_id"])
            if incident is None or incident["status"] == Status.resolved.value:
                continue
        if done := settle(incident):
            alert_groups.unwatch(group["source_id"], group["group_id"])
            resolved.append(done)
    return resolved


def _comment(incident: dict, member: dict, integration_id: str | None) -> str:
    """Where the silence came from: the person, and the incident page that shows why."""
    if integration_id is None:
        integration_id = next((d["integration_id"] for d in deliveries.of(incident["id"])), None)
    page = wording.incident_page(integration_id, incident["id"]) if integration_id else incident["id"]
    return f"dutybridge: {member['name']} silenced \"{incident['title']}\" from chat: {page}"
