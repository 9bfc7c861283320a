"""The JSON shapes the admin API returns (design.md), built from stored items."""
from __future__ import annotations

from chalicelib import clock
from chalicelib.models import MemberIn
from chalicelib.store import deliveries, people


def create_member(body: MemberIn) -> dict:
    item = {**body.model_dump(exclude_none=True), "created_at": clock.iso()}
    people.create_member(item)
    return item


def member(item: dict) -> dict:
    bindings = [{"integration_id": b["integration_id"], "user_id": b["user_id"], "linked_at": b["linked_at"]}
                for b in people.bindings_of(item["id"])]
    return {"id": item["id"], "name": item["name"], "email": item.get("email"),
            "mobile": item.get("mobile"), "bindings": bindings}


def chat(item: dict) -> dict:
    return {"chat_id": item["chat_id"], "title": item.get("title", ""), "installed_at": item.get("installed_at")}


def incident(item: dict) -> dict:
    return {
        "id": item["id"], "status": item["status"], "severity": item["severity"], "title": item["title"],
        "description": item.get("description", ""), "labels": item.get("labels", {}), "url": item.get("url", ""),
        "started_at": item.get("started_at"), "silenced_until": item.get("silenced_until"),
        "timeline": item.get("timeline", []), "war_rooms": item.get("war_rooms", {}),
        "deliveries": [{"integration_id": d["integration_id"], "target": d["target"], "kind": d["kind"],
                        "state": d["state"], "error": d.get("error")} for d in deliveries.of(item["id"])],
    }
