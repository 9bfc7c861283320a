"""Builders for test data: notifications, members, stored integrations, alert-group incidents."""
from __future__ import annotations

from chalicelib.common import clock, sealing
from chalicelib.core import alerts
from chalicelib.core.alerts import Alert, AlertGroup
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



def alert_group(count: int, summary: str = "", resolved: int = 0, starts_at: float = 1764583200.0) -> AlertGroup:
    """A group of ``count`` alerts (the last ``resolved`` of them resolved), each with ``summary``."""
    return AlertGroup(key='{}:{alertname="DiskFull"}', status="firing", group_labels={"alertname": "DiskFull"},
                      common_labels={"alertname": "DiskFull", "severity": "critical"}, alerts=[
                          Alert(fingerprint=f"{n:016x}", status="resolved" if n >= count - resolved else "firing",
                                labels={"alertname": "DiskFull", "instance": f"db-{n}:9100", "severity": "critical"},
                                annotations={"summary": summary} if summary else {}, starts_at=starts_at + n,
                                ends_at=starts_at + 3600 if n >= count - resolved else None,
                                generator_url=f"http://prometheus.example.com/graph?g0.expr=disk{n}")
                          for n in range(count)])


def with_alerts(incident: dict, group: AlertGroup) -> dict:
    """``incident`` as core.alert_incidents keeps one that follows ``group``."""
    return {**incident, "alerts": alerts.merge([], group), "alert_group": {
        "key": group.key, "status": group.status, **alerts.counts(group), "group_labels": group.group_labels,
        "common_labels": group.common_labels, "matchers": group.matchers(), "external_url": group.external_url}}
