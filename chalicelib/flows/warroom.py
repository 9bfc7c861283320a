"""War rooms (作战室): one group per incident and integration, holding its responders and its live card.

A room is opened from a card's 作战室 button (through the war-rooms queue), from the admin API or the
web app, or by itself for a critical incident where the integration sets ``war_room_auto_critical``;
whoever opens a room they are not in yet is invited into it. A conditional claim lets only one of two
concurrent requests create the room while the other waits for it; the platforms' own idempotency
keys (DingTalk and Feishu ``uuid``, WeCom ``chatid``) make a retry after a crash find the group the
first attempt created. The room is recorded on the incident (``war_rooms``) and its timeline, and
becomes one more chat the incident is delivered to, so every state change updates its card too.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from chalicelib.common import clock, queues
from chalicelib.common.errors import AppError, Conflict, NotConfigured, Unprocessable
from chalicelib.core import incidents, wording
from chalicelib.core.callback import RoomPlan
from chalicelib.core.models import RoomJob, Severity, Status
from chalicelib.flows import integrations
from chalicelib.platforms import adapter_for
from chalicelib.platforms.base import Adapter
from chalicelib.store import chats, deliveries, ephemeral, people
from chalicelib.store import integrations as integration_store

CLAIM_SECONDS = 60  # longer than any opening takes; a crashed opener's claim lapses by itself
WAIT_SECONDS, POLL_SECONDS = 10.0, 0.25
ADMIN = "admin"  # the timeline's ``by`` when the admin API opens a room without naming a member
AUTO = "auto"  # the source of rooms opened for critical incidents


@dataclass
class Opened:
    """A room found or created; a created one also says what to deliver."""

    incident_id: str
    integration_id: str
    room: dict
    created: bool = False
    target: str = ""  # the chat delivery target whose cards land in the room
    responders: dict[str, str] = field(default_factory=dict)  # platform user -> member, for their own 1:1 cards
    joined: bool = False  # the opener was not in the existing room and has been invited now

    def view(self) -> dict:
        return {"incident_id": self.incident_id, "integration_id": self.integration_id, **self.room}


def room_key(incident_id: str, integration_id: str) -> str:
    """32 characters of [0-9a-z]: every platform's idempotency key takes it (WeCom's chatid is the strictest)."""
    return "wr" + hashlib.sha1(f"{incident_id}#{integration_id}".encode()).hexdigest()[:30]


def _room_of(incident: dict, integration_id: str) -> dict | None:
    return incident.get("war_rooms", {}).get(integration_id)


def find_or_open(incident_id: str, integration_id: str, by: dict | None, source: str) -> Opened:
    """The incident's room on the integration, created on first use; raises NotFound, Conflict, NotConfigured,
    Unprocessable or the platform's error."""
    incident = incidents.get(incident_id)
    item = integrations.get(integration_id)
    if room := _room_of(incident, integration_id):
        return _join(incident, item, room, by, source)
    adapter = adapter_for(item)
    _openable(incident, adapter)
    claim = f"warroom#{incident_id}#{integration_id}"
    if not ephemeral.claim(claim, CLAIM_SECONDS):
        return Opened(incident_id, integration_id, _await(incident_id, integration_id, claim))
    try:
        return _create(incident, adapter, by, source)
    finally:
        ephemeral.delete(claim)


def settled(incident_id: str, integration_id: str, member_id: str) -> dict | None:
    """What a card click can answer without calling the platform: the room when the member is in it
    already, None when it still has to be opened or joined; raises when no room can be opened."""
    incident = incidents.get(incident_id)
    item = integrations.get(integration_id)
    if room := _room_of(incident, integration_id):
        return room if member_id in room.get("invited", []) else None
    adapter = adapter_for(item)
    _openable(incident, adapter)
    responders = _responders(incident, {"id": member_id})
    if len(responders) < adapter.room_min_members:  # e.g. WeCom's two: nobody else was paged or acted yet
        raise _too_few(adapter, [])
    return None


def _openable(incident: dict, adapter: Adapter) -> None:
    incidents.check_actionable(incident)
    if incident["status"] == Status.resolved.value:
        raise Conflict("故障已关闭，不再开作战室 (the incident is resolved)")
    if problem := adapter.war_room_problem():
        raise NotConfigured(problem)


def note_failure(incident_id: str, integration_id: str, exc: AppError) -> None:
    """A room that could not be opened where nobody waits for the answer is said on the timeline."""
    item = integration_store.get(integration_id) or {}
    incidents.note(incident_id, "war_room_failed", f"{item.get('name', integration_id)}: {exc.message}")


def _await(incident_id: str, integration_id: str, claim: str) -> dict:
    """Another request is opening the room: wait for it while that request still holds the claim."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        time.sleep(POLL_SECONDS)
        working = ephemeral.get(claim) is not None  # read first: the opener records the room, then lets go
        if room := _room_of(incidents.get(incident_id), integration_id):
            return room
        if not working or time.monotonic() > deadline:
            raise Conflict("作战室正由另一请求创建，请稍后重试 (another request is opening this war room; "
                           "try again shortly)")


def _join(incident: dict, item: dict, room: dict, by: dict | None, source: str) -> Opened:
    """A room the opener is not in yet (they came after it was opened): invite them, so that pressing
    作战室 always lets the presser in."""
    found = Opened(incident["id"], item["id"], room)
    if by is None or by["id"] in room.get("invited", []):
        return found
    adapter = adapter_for(item)
    users, _ = _platform_users(adapter, [by["id"]])
    if not users:  # no account on this platform (only the admin API can name such a member)
        return found
    if adapter.add_to_room(room["chat_id"], list(users.values())):
        raise Unprocessable(f"平台未能把你加入作战室「{room['title']}」，请联系群主拉你入群 ({adapter.name} would not "
                            f"add you to the war room; ask its owner to add you)")
    incident, room, joined = incidents.join_war_room(incident, item["id"], by["id"], source, by["name"])
    if joined:
        queues.publish(incident, incident["timeline"][-1])
    responders = {} if adapter.room_carries_buttons else {u: m for m, u in users.items()}
    return Opened(incident["id"], item["id"], room, responders=responders, joined=joined)


def _create(incident: dict, adapter: Adapter, by: dict | None, source: str) -> Opened:
    users, missing = _platform_users(adapter, _responders(incident, by))
    members = list(dict.fromkeys(users.values()))
    if len(members) < adapter.room_min_members:
        raise _too_few(adapter, missing)
    room = adapter.open_room(_plan(incident, adapter.integration_id, members))
    refused = set(room.refused)
    record = {"chat_id": room.chat_id, "title": room.title, "platform": adapter.name, "created_at": clock.iso(),
              "invited": [m for m, u in users.items() if u not in refused],
              "not_invited": missing + [m for m, u in users.items() if u in refused]}
    opener = by["id"] if by else (incidents.SYSTEM if source == AUTO else ADMIN)
    incident, record, created = incidents.add_war_room(incident, adapter.integration_id, record, opener,
                                                       source, by["name"] if by else "")
    if not created:  # recorded by a request whose claim had lapsed: the platform key made it the same group
        return Opened(incident["id"], adapter.integration_id, record)
    chats.upsert(adapter.integration_id, room.target, active=True, title=room.title, installed_at=clock.iso(),
                 war_room=incident["id"])
    queues.publish(incident, incident["timeline"][-1])
    responders = {} if adapter.room_carries_buttons else {u: m for m, u in users.items() if u not in refused}
    return Opened(incident["id"], adapter.integration_id, record, True, room.target, responders)


def _too_few(adapter: Adapter, missing: list[str]) -> Unprocessable:
    return Unprocessable(f"能邀请的处理人不足 {adapter.room_min_members} 人：请先关联成员账号 (a war room here needs "
                         f"{adapter.room_min_members} responder(s) known to {adapter.name}; not found: "
                         f"{', '.join(missing) or 'nobody else was paged or acted yet'})")


def _responders(incident: dict, by: dict | None) -> list[str]:
    """Member ids: the opener, then whoever acted on the incident, then whoever was paged for it."""
    acting = [e["by"] for e in incident.get("timeline", [])
              if e["by"] not in (incidents.PRODUCER, incidents.SYSTEM, ADMIN)]
    paged = [d["member_id"] for d in deliveries.of(incident["id"]) if d["kind"] == "user" and d.get("member_id")]
    return list(dict.fromkeys(([by["id"]] if by else []) + acting + paged))


def _platform_users(adapter: Adapter, member_ids: list[str]) -> tuple[dict[str, str], list[str]]:
    """Each member's platform user: their binding, else whoever the platform finds behind their mobile."""
    users: dict[str, str] = {}
    missing: list[str] = []
    misses, limit = 0, adapter.mobile_miss_limit  # the platform's anti-abuse budget for unknown numbers
    for member_id in member_ids:
        binding = people.binding(member_id, adapter.integration_id)
        user_id = binding["user_id"] if binding else None
        member = None if user_id else people.get_member(member_id)
        if member and member.get("mobile") and (limit is None or misses < limit):
            user_id = adapter.user_by_mobile(member["mobile"])
            misses += user_id is None
        if user_id:
            users[member_id] = user_id
        else:
            missing.append(member_id)
    return users, missing


def _plan(incident: dict, integration_id: str, members: list[str]) -> RoomPlan:
    zh, en = wording.SEVERITY_TEXT[incident["severity"]]
    return RoomPlan(key=room_key(incident["id"], integration_id), title=f"[作战室] {incident['title']}",
                    title_en=f"[War room] {incident['title']}", description=f"{zh} {en} · {incident['id']}",
                    members=members)


def auto_rooms(incident: dict, items: list[dict]) -> list[RoomJob]:
    """A critical incident asks for a room on every one of ``items`` (integrations) set to
    ``war_room_auto_critical``; the war-rooms queue opens them, off the notification's path."""
    if incident["severity"] != Severity.critical.value or incident["status"] == Status.resolved.value \
            or incidents.is_silenced(incident):
        return []
    return [RoomJob(incident_id=incident["id"], integration_id=item["id"], member_id=None, source=AUTO)
            for item in items
            if item["settings"].get("war_room_auto_critical") and not _room_of(incident, item["id"])]
