"""The seed guides played against the simulators, step by step, like an admin would.

    python -m devkit.walkthrough --app http://127.0.0.1:8000 --token <admin token> --sim http://127.0.0.1:8900

For each platform: create the integration from the simulated console's values, save the callback
URLs (each platform's handshake), add the people as members and link them by mobile, put the app
into a group, then send a first incident (with the simulators' sample panel picture) through the
notifications queue and open its war room
(作战室: DingTalk's scene group of seed 000 §四, WeCom's 开启作战室 of seed 003 §三). Each simulator package
holds its seed guide (``<platform>/walkthrough.py``, listed in its registry entry); the end-to-end tests
run the same steps.

Then each simulated group's custom robot (seed 004) is saved as a robot integration and gets an incident
that @s the people. Each integration also previews the demo incident's card (``POST /integrations/{id}/preview``)
and hands the answer to its simulator (``POST /<platform>/_sim/preview``), which checks it as the platform's
API would and shows it in the page's 预览 Preview conversation with its size against the limit and what was cut.
Last, an Alertmanager source for those people and groups: its push_url and the
alertmanager.yml receiver are printed, and with ``--alertmanager URL --alertmanager-config PATH`` (the
Alertmanager ``make run`` started) that Alertmanager is pointed at it, so ``amtool alert add …`` brings a
card and 屏蔽 on the card leaves a silence in that Alertmanager.
"""
from __future__ import annotations

import argparse
import json
import time
from urllib.parse import urlsplit

import boto3

from devkit import alertmanager
from devkit.console import Console, create_integration
from devkit.simulators import ROBOTS, SIMULATORS
from devkit.simulators.media import SAMPLE_PATH

SETUPS = {name: setup for entry in SIMULATORS.values() for name, setup in entry.setups.items()}
MOUNTS = {name: entry.simulator.mount_path.strip("/") for entry in SIMULATORS.values() for name in entry.setups}


def demo_incident(incident_id: str, **fields) -> dict:
    return {"id": incident_id, "title": "CPU > 95% on db-1", "severity": "critical",
            "labels": {"service": "db", "region": "cn-hangzhou"}, "description": "load average 32 on db-1", **fields}


def send_incident(queue_url: str, incident_id: str, members: list[str], chats: list[dict], **fields) -> None:
    body = {"version": 1, "incident": demo_incident(incident_id, **fields),
            "targets": {"members": members, "chats": chats}}
    boto3.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(body, ensure_ascii=False))


def preview_cards(console: Console, integration_id: str, mount: str, kinds: tuple[str, ...] = ("user", "chat"),
                  robot: str = "") -> list[str]:
    """The demo incident's card through the integration as its platform would receive it (``POST
    /integrations/{id}/preview``, nothing sent), handed to the simulator to check and show in its 预览 Preview
    conversation (``POST /<mount>/_sim/preview``, for a robot the one named by its token); a line per card."""
    lines = []
    for kind in kinds:
        status, answer = console.api("POST", f"/integrations/{integration_id}/preview",
                                     {"incident": demo_incident("inc-preview-demo"), "to": kind})
        if status != 200:
            lines.append(f"preview of {integration_id} ({kind}) failed: {status} {answer.get('message', answer)}")
            continue
        kept = console.sim("POST", "/_sim/preview", {**answer, **({"robot": robot} if robot else {})}, platform=mount)
        size = answer["size"]
        verdict = (f"shown in {console.sim_url}/{mount}/ 预览 Preview" if kept.get("ok")
                   else f"REFUSED {kept.get('code')} {kept.get('error')} ({kept.get('reason')})")
        lines.append(f"preview of {integration_id} ({answer['to']}): {size['value']} / {size['limit']} {size['of']}, "
                     f"{answer['more'] or 'nothing cut'} → {verdict}")
    return lines


def open_war_room(console: Console, integration_id: str, incident_id: str, paged: int) -> tuple[int, dict]:
    """The 作战室 of an incident sent through the queue to ``paged`` people: once it is in and they are
    paged on the integration (they are the room's responders), ask for its room."""
    def all_paged() -> bool:
        deliveries = console.api("GET", f"/incidents/{incident_id}")[1].get("deliveries", [])
        return len([d for d in deliveries if d["integration_id"] == integration_id and d["kind"] == "user"]) >= paged
    console.wait_for(all_paged, f"incident {incident_id} paged to {paged} people")
    return console.api("POST", f"/incidents/{incident_id}/war-room", {"integration_id": integration_id})


def create_alertmanager_source(console: Console, members: list[str], chats: list[dict],
                               alertmanager_url: str | None) -> dict:
    """The source an admin creates for their Alertmanager; its 屏蔽 reaches that Alertmanager when one is named."""
    body = {"kind": "alertmanager", "name": "Alertmanager (demo)", "targets": {"members": members, "chats": chats},
            "settings": {"alertmanager_url": alertmanager_url} if alertmanager_url else {}}
    status, view = console.api("POST", "/sources", body)
    if status != 201:
        raise RuntimeError(f"creating the Alertmanager source failed: {status} {view}")
    return view


def alertmanager_steps(push_url: str, alertmanager_url: str | None, config_path: str | None) -> str:
    """What to do next with the source, for the Alertmanager at hand (wired here, someone's own, or none)."""
    snippet = "".join(f"    {line}\n" for line in alertmanager.receiver_snippet(push_url).splitlines())
    lines = [f"Alertmanager source: push_url {push_url}",
             f"  alertmanager.yml receiver (the url verbatim; route to it, e.g. route: receiver: "
             f"{alertmanager.RECEIVER}):", snippet]
    if alertmanager_url and config_path:
        lines.append(f"  The Alertmanager at {alertmanager_url} now sends every alert group there ({config_path}).")
    elif alertmanager_url:
        lines.append(f"  Add that receiver to the alertmanager.yml of {alertmanager_url} and reload it.")
    else:
        lines.append(f"  No Alertmanager here: {alertmanager.INSTALL_HINT}; make run then starts one wired to it.")
    url = alertmanager_url or f"http://127.0.0.1:{alertmanager.DEFAULT_PORT}"
    fire = alertmanager.amtool_add_line(url)
    lines += ["  Fire an alert and watch its card arrive:", f"    {fire}",
              f"  屏蔽 on the card, then see the silence: amtool --alertmanager.url={url} silence query",
              f"  Resolve it (the card turns resolved):\n    {fire} --end=$(date -u +%Y-%m-%dT%H:%M:%SZ)"]
    return "\n".join(lines)


def sample_picture(console: Console, integration_ids: list[str]) -> dict:
    """The incident field that shows the simulators' sample panel picture on the cards: it is served on a
    private address, so each integration lists that host in ``image_hosts`` (as an admin does for an inner
    Grafana)."""
    for integration_id in integration_ids:
        console.api("PATCH", f"/integrations/{integration_id}",
                    {"settings": {"image_hosts": [urlsplit(console.sim_url).hostname]}})
    return {"image_url": console.sim_url + SAMPLE_PATH}


def setup_robots(console: Console) -> list[dict]:
    """Seed 004: each simulated group's custom robot saved as an integration (its webhook, 加签 secret and
    keyword, as the group settings show them); returns the robots' chat targets."""
    targets = []
    for entry in ROBOTS.values():
        state = console.sim("GET", "/_sim/state", platform=entry.simulator.mount_path.strip("/"))
        view = create_integration(console, entry.integration(state, console.sim_url))
        print(f"robot {entry.name}: integration {view['id']} ({view['name']})")
        print("\n".join(preview_cards(console, view["id"], entry.simulator.mount_path.strip("/"), ("chat",),
                                       robot=state["robots"][0]["token"])))
        targets.append({"integration_id": view["id"], "chat_id": "robot"})
    return targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True)
    parser.add_argument("--sim", default="http://127.0.0.1:8900")
    parser.add_argument("--platform", choices=sorted(SETUPS), action="append")
    parser.add_argument("--alertmanager", help="the Alertmanager URL the demo source's 屏蔽 creates silences in")
    parser.add_argument("--alertmanager-config", help="that Alertmanager's config file: rewritten to send to the "
                                                      "demo source, then reloaded")
    args = parser.parse_args()
    console = Console(args.app, args.token, args.sim)
    queue_url = boto3.client("sqs").get_queue_url(QueueName="dutybridge-local-notifications")["QueueUrl"]
    members: list[str] = []
    all_chats: list[dict] = []
    for platform in args.platform or sorted(SETUPS):
        done = SETUPS[platform](console)
        print(json.dumps(done, ensure_ascii=False, indent=2))
        print("\n".join(preview_cards(console, done["integration"]["id"], MOUNTS[platform])))
        chats = [{"integration_id": done["integration"]["id"], "chat_id": done["group"]}] if done["group"] else []
        incident_id = f"inc-{platform}-{int(time.time())}"
        send_incident(queue_url, incident_id, done["people"], chats,
                      **sample_picture(console, [done["integration"]["id"]]))
        status, room = open_war_room(console, done["integration"]["id"], incident_id, len(done["people"]))
        print(f"war room of {incident_id}: {status} {json.dumps(room, ensure_ascii=False)}")
        members += [person for person in done["people"] if person not in members]
        all_chats += chats
    robots = setup_robots(console)
    send_incident(queue_url, f"inc-robots-{int(time.time())}", members, robots,
                  **sample_picture(console, [robot["integration_id"] for robot in robots]))
    source = create_alertmanager_source(console, members, all_chats + robots, args.alertmanager)
    if args.alertmanager and args.alertmanager_config:
        alertmanager.rewire(args.alertmanager, args.alertmanager_config, source["push_url"])
    print(f"incidents sent: open {args.sim}/ to see the cards, the war rooms, and click them; each platform's "
          f"预览 Preview chat shows how its cards of the demo incident would look, their size and what was cut\n")
    print(alertmanager_steps(source["push_url"], args.alertmanager, args.alertmanager_config))


if __name__ == "__main__":
    main()
