"""The offboarding check every platform's e2e runs: the simulated admin offboards a person, the platform's
signed event reaches the app, the member view says they left, and paging them records why nothing went."""
from __future__ import annotations

from devkit.console import Console
from devkit.walkthrough import send_incident
from tests.live_runtime import queue_url


def offboarded(console: Console, platform: str, integration_id: str, person: str, event: str,
               body: dict | None = None) -> dict:
    """Offboard ``person`` (their member id is their simulator handle) and check what follows; the
    simulator's answer."""
    answer = console.sim("POST", f"/_sim/users/{person}/leave", body or {}, platform=platform)
    assert answer["ok"] and answer["pushed"], answer
    status, view = console.api("GET", f"/members/{person}")
    assert status == 200 and integration_id not in [b["integration_id"] for b in view["bindings"]]
    assert [e["event"] for e in view["left"] if e["integration_id"] == integration_id] == [event]
    # paged on this integration only: in a shared runtime they may still be bound on another one
    assert console.api("PATCH", f"/members/{person}", {"channels": [integration_id]})[0] == 200
    incident_id = f"inc-left-{platform}-{person.lower()}"
    send_incident(queue_url(), incident_id, [person], [])

    def unbound() -> dict | None:
        incident = console.api("GET", f"/incidents/{incident_id}")[1]
        return next((d for d in incident.get("deliveries", []) if d["integration_id"] == integration_id), None)

    record = console.wait_for(unbound, "the departed member's delivery record")
    assert record["state"] == "unbound" and "已离职" in record["error"] and event in record["error"]
    return answer
