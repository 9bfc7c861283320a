"""The JSON shapes the admin API returns (README, "Admin API"), built from stored items."""
from __future__ import annotations

from chalicelib.flows import offboarding
from chalicelib.store import deliveries, people
from chalicelib.store import integrations as integration_store


def member(item: dict) -> dict:
    bindings = [{"integration_id": b["integration_id"], "user_id": b["user_id"], "linked_at": b["linked_at"]}
                for b in people.bindings_of(item["id"])]
    return {"id": item["id"], "name": item["name"], "email": item.get("email"),
            "mobile": item.get("mobile"), "channels": item.get("channels"), "bindings": bindings,
            "left": offboarding.left_view(item)}


def chat(item: dict) -> dict:
    return {"chat_id": item["chat_id"], "title": item.get("title", ""), "installed_at": item.get("installed_at")}


# What a delivery may add: how it went (via the fallback robot), why its picture or template is not shown.
DELIVERY_NOTES = ("via", "note", "template_error")
# What an incident from a source adds: where it came from, its alerts, its silence there, its predecessor.
SOURCE_FIELDS = ("source", "alert_group", "alerts", "links", "image_url", "silence", "previous_incident_id")
# What a report (core.reports) adds: its kind, its own id, kind and outcome, and when it last came.
REPORT_FIELDS = ("kind", "report", "reported_at")


def incident(item: dict) -> dict:
    return {
        "id": item["id"], "status": item["status"], "severity": item["severity"], "title": item["title"],
        "description": item.get("description", ""), "labels": item.get("labels", {}), "url": item.get("url", ""),
        "started_at": item.get("started_at"), "silenced_until": item.get("silenced_until"),
        "timeline": item.get("timeline", []), "war_rooms": item.get("war_rooms", {}),
        **{name: item[name] for name in SOURCE_FIELDS + REPORT_FIELDS if item.get(name)},
        "deliveries": [{"integration_id": d["integration_id"], "target": d["target"], "kind": d["kind"],
                        "state": d["state"], "error": d.get("error"), **labels,
                        **{name: d[name] for name in DELIVERY_NOTES if d.get(name)}}
                       for d, labels in deliveries_of(item["id"])],
    }


def deliveries_of(incident_id: str) -> list[tuple[dict, dict]]:
    """The incident's delivery records, each with where it went: the integration's platform and name as
    they are now, or as they were when the card was recorded if the integration has been deleted since."""
    found = deliveries.of(incident_id)
    current = {i: integration_store.get(i) for i in {d["integration_id"] for d in found}}
    answer = []
    for record in found:
        integration = current[record["integration_id"]]
        if integration is not None:
            labels = {"platform": integration["platform"], "integration_name": integration["name"],
                      "integration_deleted": False}
        else:
            labels = {"platform": record.get("platform"),
                      "integration_name": record.get("integration_name") or "deleted integration",
                      "integration_deleted": True}
        answer.append((record, labels))
    return answer
