"""The seed guides played against the simulators, step by step, like an admin would.

    python -m devkit.walkthrough --app http://127.0.0.1:8000 --token <admin token> --sim http://127.0.0.1:8900

For each platform: create the integration from the simulated console's values, save the callback
URLs (each platform's handshake), add the people as members and link them by mobile, put the app
into a group, then send a first incident through the notifications queue and open its war room
(作战室: DingTalk's scene group of seed 000 §四, WeCom's 开启作战室 of seed 003 §三). Each simulator package
holds its seed guide (``<platform>/walkthrough.py``, listed in its registry entry); the end-to-end tests
run the same steps.
"""
from __future__ import annotations

import argparse
import json
import time

import boto3

from devkit.console import Console
from devkit.simulators import SIMULATORS

SETUPS = {name: setup for entry in SIMULATORS.values() for name, setup in entry.setups.items()}


def send_incident(queue_url: str, incident_id: str, members: list[str], chats: list[dict], **fields) -> None:
    body = {"version": 1, "incident": {"id": incident_id, "title": "CPU > 95% on db-1", "severity": "critical",
                                       "labels": {"service": "db", "region": "cn-hangzhou"},
                                       "description": "load average 32 on db-1", **fields},
            "targets": {"members": members, "chats": chats}}
    boto3.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(body, ensure_ascii=False))


def open_war_room(console: Console, integration_id: str, incident_id: str, paged: int) -> tuple[int, dict]:
    """The 作战室 of an incident sent through the queue to ``paged`` people: once it is in and they are
    paged on the integration (they are the room's responders), ask for its room."""
    def all_paged() -> bool:
        deliveries = console.api("GET", f"/incidents/{incident_id}")[1].get("deliveries", [])
        return len([d for d in deliveries if d["integration_id"] == integration_id and d["kind"] == "user"]) >= paged
    console.wait_for(all_paged, f"incident {incident_id} paged to {paged} people")
    return console.api("POST", f"/incidents/{incident_id}/war-room", {"integration_id": integration_id})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True)
    parser.add_argument("--sim", default="http://127.0.0.1:8900")
    parser.add_argument("--platform", choices=sorted(SETUPS), action="append")
    args = parser.parse_args()
    console = Console(args.app, args.token, args.sim)
    queue_url = boto3.client("sqs").get_queue_url(QueueName="dutybridge-local-notifications")["QueueUrl"]
    for platform in args.platform or sorted(SETUPS):
        done = SETUPS[platform](console)
        print(json.dumps(done, ensure_ascii=False, indent=2))
        chats = [{"integration_id": done["integration"]["id"], "chat_id": done["group"]}] if done["group"] else []
        incident_id = f"inc-{platform}-{int(time.time())}"
        send_incident(queue_url, incident_id, done["people"], chats)
        status, room = open_war_room(console, done["integration"]["id"], incident_id, len(done["people"]))
        print(f"war room of {incident_id}: {status} {json.dumps(room, ensure_ascii=False)}")
    print(f"incidents sent: open {args.sim}/ to see the cards, the war rooms, and click them")


if __name__ == "__main__":
    main()
