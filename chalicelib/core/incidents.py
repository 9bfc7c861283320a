"""Incident state: triggered → acknowledged → resolved, silence until a time, a timeline of changes.

Every change is a compare-and-set on the incident's ``version``: two racing clicks are applied one
after the other (the loser is re-evaluated against the winner's state), and a change the current
state no longer allows is refused with who did what when. Producers can only move the status
forward, so a re-sent old notification never undoes an acknowledgement made from chat.
"""
from __future__ import annotations

from typing import Callable

from chalicelib.common import clock
from chalicelib.common.errors import Conflict, InvalidInput, NotFound, StorageConflict
from chalicelib.core.models import SILENCE_RANGE, Action, IncidentFields, Status, is_report, silence_minutes_ok
from chalicelib.store import incidents as store

RANK = {Status.triggered.value: 0, Status.acknowledged.value: 1, Status.resolved.value: 2}
PRODUCER = "producer"
SYSTEM = "system"
DEFAULT_SILENCE_MINUTES = 120
MAX_TIMELINE = 300
_CAS_ATTEMPTS = 8
NOT_SILENCED = "故障未被屏蔽 (incident is not silenced)"
NOT_ACTED_ON = "报告仅供查看，不能认领、关闭、屏蔽或开作战室 (a report is not acted on)"


def get(incident_id: str) -> dict:
    incident = store.get(incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} does not exist")
    return incident


def entry(action: str, by: str, source: str, name: str = "", note: str = "", minutes: int | None = None) -> dict:
    """A timeline entry; ``minutes`` (of a silence) stays a number so each page says it in its language."""
    entry = {"at": clock.iso(), "action": action, "by": by, "source": source}
    return {**entry, **({"name": name} if name else {}), **({"note": note} if note else {}),
            **({"minutes": minutes} if minutes else {})}


def append(incident: dict, entry: dict) -> None:
    incident["timeline"] = (incident.get("timeline", []) + [entry])[-MAX_TIMELINE:]


def mutate(incident_id: str, change: Callable[[dict], bool], read: dict | None = None) -> tuple[dict, bool]:
    """Apply ``change`` to a fresh copy until the conditional save wins; returns (incident, changed).
    ``read``: the incident as the caller just read it, tried first instead of reading it again."""
    for _ in range(_CAS_ATTEMPTS):
        incident = read or get(incident_id)
        read = None  # a lost race reads afresh
        version = incident["version"]
        if not change(incident):
            return incident, False
        incident["version"] = version + 1
        incident["updated_at"] = clock.iso()
        try:
            store.save(incident, expected_version=version)
            return incident, True
        except StorageConflict:
            continue
    raise Conflict(f"incident {incident_id} is changing too fast, try again")


def unsaved(fields: IncidentFields) -> dict:
    """The incident a producer's first notification opens, as it is stored."""
    data = fields.model_dump(mode="json")
    incident = {**data, "version": 1, "created_at": clock.iso(), "updated_at": clock.iso(),
                "started_at": data["started_at"] or clock.iso(), "timeline": []}
    append(incident, entry(data["status"], PRODUCER, "api"))
    return incident


def ingest(fields: IncidentFields) -> tuple[dict, bool]:
    """Create or update an incident from a producer's notification; returns (incident, changed)."""
    data = fields.model_dump(mode="json")
    return create_or_change(fields.id, lambda: unsaved(fields), lambda incident: _merge(incident, data))


def create_or_change(record_id: str, new: Callable[[], dict], change: Callable[[dict], bool]) -> tuple[dict, bool]:
    """Store ``new()`` under ``record_id``, or apply ``change`` to the record already there; returns (record,
    changed). A record just created is the only one at version 1 that changed."""
    record = new()
    try:
        store.create(record)  # one write for a new incident; a failed one hands back the stored record
        return record, True
    except StorageConflict as conflict:
        return mutate(record_id, change, conflict.current)


def _merge(incident: dict, data: dict) -> bool:
    changed = False
    for name in ("title", "severity", "description", "labels", "url", "image_url"):
        if data[name] != incident.get(name) and (data[name] or incident.get(name)):  # "" is no picture, as unset
            incident[name], changed = data[name], True
    if RANK[data["status"]] > RANK[incident["status"]]:
        incident["status"], changed = data["status"], True
        append(incident, entry(data["status"], PRODUCER, "api"))
    elif changed:
        append(incident, entry("updated", PRODUCER, "api"))
    return changed


def act(incident_id: str, action: Action, member: dict, source: str,
        minutes: int | None = None, silence: dict | None = None) -> dict:
    """Apply a person's action; raises Conflict when the current state refuses it, InvalidInput for a
    silence longer than any caller may ask for. ``silence``: the silence the incident's source made for
    this action ({"id", "backend"}), kept so that 取消屏蔽 can expire it there."""
    if not silence_minutes_ok(minutes):
        raise InvalidInput(SILENCE_RANGE)

    def change(incident: dict) -> bool:
        check_allowed(incident, action)
        at = clock.iso()
        span = None
        if action is Action.silence:
            span = minutes or DEFAULT_SILENCE_MINUTES
            incident["silenced_until"] = clock.iso(clock.now() + span * 60)
            incident.pop("silence", None)
            if silence:
                incident["silence"] = {**silence, "by": member["name"], "until": incident["silenced_until"]}
        elif action is Action.unsilence:
            incident.pop("silenced_until", None)
            incident.pop("silence", None)
        else:
            incident["status"] = Status.acknowledged.value if action is Action.ack else Status.resolved.value
            incident[f"{incident['status']}_by"] = {"id": member["id"], "name": member["name"], "at": at}
        incident["last_action"] = {"action": action.value, "id": member["id"], "name": member["name"], "at": at}
        append(incident, entry(action.value, member["id"], source, member["name"],
                               note=(silence or {}).get("id", ""), minutes=span))
        return True

    return mutate(incident_id, change)[0]


def check_actionable(incident: dict) -> None:
    """A report (core.reports) is shown, never handled: every action and war room on it is refused."""
    if is_report(incident):
        raise Conflict(NOT_ACTED_ON)


def check_allowed(incident: dict, action: Action) -> None:
    check_actionable(incident)
    status = incident["status"]
    if status == Status.resolved.value:
        raise Conflict(_refusal(incident, "resolved", "关闭"))
    if action is Action.ack and status == Status.acknowledged.value:
        raise Conflict(_refusal(incident, "acknowledged", "认领"))
    if action is Action.unsilence and not is_silenced(incident):
        raise Conflict(NOT_SILENCED)


def _refusal(incident: dict, state: str, verb: str) -> str:
    by = incident.get(f"{state}_by")
    if not by:
        return f"故障已{verb} (incident already {state})"
    return f"故障已被 {by['name']} 于 {by['at']} {verb} (already {state} by {by['name']} at {by['at']})"


def is_silenced(incident: dict) -> bool:
    until = incident.get("silenced_until")
    return bool(until) and clock.parse_iso(until) > clock.now()


def note(incident_id: str, action: str, text: str) -> None:
    """Add a system entry to the timeline (e.g. a notification suppressed while silenced)."""
    mutate(incident_id, lambda incident: append(incident, entry(action, SYSTEM, "api", note=text)) or True)


def record_image(incident_id: str, integration_id: str, upload: dict) -> bool:
    """Keep ``upload`` ({"ref" or "error", "url", "at"}) as the incident's picture on the integration, unless the
    incident has meanwhile moved to another picture; True when kept."""
    for _ in range(_CAS_ATTEMPTS):
        incident = get(incident_id)
        if incident.get("image_url") != upload["url"]:
            return False
        try:
            store.set_image(incident, integration_id, upload)
            return True
        except StorageConflict:
            continue
    raise Conflict(f"incident {incident_id} is changing too fast, try again")


def add_war_room(read: dict, integration_id: str, room: dict, by: str, source: str,
                 name: str = "") -> tuple[dict, dict, bool]:
    """Record the integration's war room once on the incident ``read`` last (read again only if it changed
    since); returns (incident, the recorded room, whether this call did)."""
    def change(incident: dict) -> bool:
        if integration_id in incident.get("war_rooms", {}):
            return False
        incident["war_rooms"] = {**incident.get("war_rooms", {}), integration_id: room}
        append(incident, entry("war_room", by, source, name, room["title"]))
        return True

    incident, changed = mutate(read["id"], change, read)
    return incident, incident["war_rooms"][integration_id], changed


def join_war_room(read: dict, integration_id: str, member_id: str, source: str,
                  name: str = "") -> tuple[dict, dict, bool]:
    """Record a latecomer invited into the integration's room on the incident ``read`` last (read again only if
    it changed since); returns (incident, the room, whether this call did)."""
    def change(incident: dict) -> bool:
        room = incident["war_rooms"][integration_id]
        if member_id in room.get("invited", []):
            return False
        room["invited"] = room.get("invited", []) + [member_id]
        room["not_invited"] = [m for m in room.get("not_invited", []) if m != member_id]
        append(incident, entry("war_room_joined", member_id, source, name, room["title"]))
        return True

    incident, changed = mutate(read["id"], change, read)
    return incident, incident["war_rooms"][integration_id], changed
