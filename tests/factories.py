"""Builders for test data: notifications, members, stored integrations."""
from __future__ import annotations

from chalicelib.common import clock, sealing
from chalicelib.store import integrations as integration_store
from chalicelib.store import people


def notification(incident_id: str = "inc-1", members=("alice",), chats=(), **incident) -> dict:
    return {"version": 1,
            "incident": {"id": incident_id, "title": "CPU > 95% on db-1", "severity": "critical",
                         "status": "triggered", "labels": {"service": "db"}, **incident},
            "targets": {"members": list(members), "chats": list(chats)}}


def member(member_id: str = "alice", name: str = "Alice", mobile: str = "13800000001") -> dict:
    item = {"id": member_id, "name": name, "mobile": mobile, "created_at": clock.iso()}
    people.create_member(item)
    return item


def stored_integration(platform: str = "fake", integration_id: str = "int_fake", **credentials) -> dict:
    item = {"id": integration_id, "platform": platform, "name": "test", "settings": {},
            "credentials": sealing.seal(credentials or {"secret": "s3cr3t-value-123"}),
            "created_at": clock.iso(), "updated_at": clock.iso()}
    integration_store.create(item)
    return item

