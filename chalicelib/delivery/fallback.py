"""The fallback robot (an app integration's ``fallback_robot`` setting): when the app's monthly budget is
spent or the platform refuses its quota, a critical incident goes to that group robot at once, @ing the
people it was for, instead of waiting for the 1st of the month. Its delivery says it went by the fallback."""
from __future__ import annotations

from chalicelib.common import clock, queues
from chalicelib.core.cards import Card
from chalicelib.core.models import DeliveryJob
from chalicelib.platforms.robot import CHAT
from chalicelib.store import deliveries
from chalicelib.store import integrations as integration_store

VIA = "已转由备用群机器人发送：{name} (sent by the fallback robot {name} instead)"


def divert(job: DeliveryJob, settings, card: Card) -> str | None:
    """Send a critical ``card`` that ``job``'s app cannot send now by the app's fallback robot; returns the
    words its parked delivery records, None when there is no fallback for it."""
    robot_id = getattr(settings, "fallback_robot", None)
    robot = integration_store.get(robot_id) if robot_id and card.severity == "critical" else None
    if robot is None:
        return None
    records = deliveries.of(job.incident_id)
    people = list(dict.fromkeys(r["member_id"] for r in records if r.get("member_id")))
    diverted = DeliveryJob(incident_id=job.incident_id, integration_id=robot["id"], kind="chat", target=CHAT)
    if deliveries.ensure({"incident_id": job.incident_id, "target_key": diverted.target_key,
                          "integration_id": robot["id"], "kind": "chat", "target": CHAT, "state": "pending",
                          "error": None, "created_at": clock.iso(), "platform": robot["platform"],
                          "integration_name": robot["name"], "via": "fallback", "fallback_for": job.integration_id,
                          **({"mentions": people} if people else {})}):
        queues.deliver([diverted])
    return VIA.format(name=robot["name"])
