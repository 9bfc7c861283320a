"""A real Alertmanager (Debian's 0.25) whose only receiver is an alertmanager source's push_url, in front of
the Feishu simulator: alerts posted to Alertmanager's API become one card per group, 屏蔽 / 取消屏蔽 on the card
create and expire a real silence in that Alertmanager, resolving the alerts resolves the card, a repeat
changes nothing, and the group firing again after a person's 关闭 opens a new incident.

Each test fires its own alert group (its own alertname), so the tests do not depend on each other.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

import pytest
import requests

import tests.needs_alertmanager  # noqa: F401 - skips this module without Alertmanager
from chalicelib.common import aws
from devkit.alertmanager import Alertmanager, Timing, now_iso
from devkit.console import Console
from devkit.simulators.feishu.walkthrough import setup_feishu

# short enough for seconds-long tests; repeats only where a test asks for them
TIMING = Timing(group_wait="1s", group_interval="1s", repeat_interval="1h")
QUEUES = ("notifications", "deliveries")


@dataclass
class World:
    console: Console
    alertmanager: Alertmanager
    source: dict
    group: str  # the Feishu group chat the source targets
    person: dict  # the member the source targets, as the simulator knows them (key, name, open_id)


@pytest.fixture(scope="module")
def world(console):
    alertmanager = Alertmanager(timing=TIMING).start()
    done = setup_feishu(console)
    try:
        person = next(u for u in _feishu(console)["users"] if u["key"] == done["people"][0])
        status, source = console.api("POST", "/sources", {
            "kind": "alertmanager", "name": "Alertmanager e2e",
            "targets": {"members": [person["key"]],
                        "chats": [{"integration_id": done["integration"]["id"], "chat_id": done["group"]}]},
            "settings": {"alertmanager_url": alertmanager.url}})
        assert status == 201, source
        alertmanager.rewire(source["push_url"])
        yield World(console, alertmanager, source, done["group"], person)
        console.api("DELETE", f"/sources/{source['id']}")
    finally:
        alertmanager.stop()
        console.api("DELETE", f"/integrations/{done['integration']['id']}")  # later modules set Feishu up again


def _feishu(console: Console) -> dict:
    return console.sim("GET", "/_sim/state", platform="feishu")


def _alert(name: str, instance: str, **fields) -> dict:
    return {"labels": {"alertname": name, "cluster": "prod-sh", "instance": instance, "severity": "critical"},
            "annotations": {"summary": f"{name} on prod-sh"}, **fields}


def _resolved(alerts: list[dict]) -> list[dict]:
    return [alert | {"endsAt": now_iso()} for alert in alerts]


def _cards(world: World) -> dict[str, list[dict]]:
    """The source's cards in the simulator by incident id (the id the card's buttons carry)."""
    found: dict[str, list[dict]] = {}
    pattern = re.compile(re.escape(world.source["id"]) + r"\.[0-9a-f]{16}\.\d+")
    for messages in _feishu(world.console)["messages"].values():
        for message in messages:
            for incident_id in set(pattern.findall(json.dumps(message["content"]))):
                found.setdefault(incident_id, []).append(message)
    return found


def _content(message: dict) -> dict:
    return message["content"] if isinstance(message["content"], dict) else json.loads(message["content"])


def _status(message: dict) -> str:
    return json.dumps(_content(message)["i18n_elements"]["en_us"][0], ensure_ascii=False)


def _buttons(message: dict) -> list[str]:
    return [a["text"]["content"] for e in _content(message)["i18n_elements"]["zh_cn"] if e["tag"] == "action"
            for a in e["actions"]]


def _incident(world: World, incident_id: str) -> dict:
    return world.console.api("GET", f"/incidents/{incident_id}")[1]


def _fire(world: World, alerts: list[dict]) -> tuple[str, list[dict]]:
    """Post ``alerts`` to Alertmanager and wait for the incident they open to be delivered to both targets;
    returns its id and cards."""
    known = set(_cards(world))
    world.alertmanager.post_alerts(alerts)

    def delivered():
        fresh = {i: cards for i, cards in _cards(world).items() if i not in known and len(cards) == 2}
        return next(iter(fresh.items()), None)
    return world.console.wait_for(delivered, "the group's card in the person's chat and the group chat")


def _personal(world: World, cards: list[dict]) -> dict:
    return next(c for c in cards if c["chatId"] != world.group)


def _click(world: World, card: dict, value: dict) -> dict:
    answer = world.console.sim("POST", "/_sim/click", {"message_id": card["messageId"],
                                                       "open_id": world.person["open_id"], "value": value},
                               platform="feishu")
    assert answer.get("status") == 200 and answer["applied"], answer
    return answer


def _settled(world: World) -> None:
    """Wait until every push and delivery job handed to the queues has been handled."""
    sqs = aws.client("sqs")

    def empty() -> bool:
        for name in QUEUES:
            attributes = sqs.get_queue_attributes(QueueUrl=aws.queue_url(name), AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed"])
            if any(int(v) for v in attributes["Attributes"].values()):
                return False
        return True
    world.console.wait_for(empty, "the queues to drain")


def test_alerts_become_one_card_that_follows_the_group_until_resolved(world):
    alerts = [_alert("E2eDiskFull", "db-1"), _alert("E2eDiskFull", "db-2")]
    incident_id, cards = _fire(world, alerts)
    assert {c["chatId"] == world.group for c in cards} == {True, False}  # one card in the group, one 1:1
    incident = _incident(world, incident_id)
    assert incident["status"] == "triggered" and incident["title"] == "E2eDiskFull on prod-sh"
    assert len(_incident(world, incident_id)["alerts"]) == 2 and incident["severity"] == "critical"

    joined = _alert("E2eDiskFull", "db-3")
    world.alertmanager.post_alerts([joined])
    world.console.wait_for(lambda: len(_incident(world, incident_id)["alerts"]) == 3, "the third alert to join")
    _settled(world)
    assert {i: len(c) for i, c in _cards(world).items() if i == incident_id} == {incident_id: 2}  # updated in place

    world.alertmanager.post_alerts(_resolved(alerts + [joined]))
    world.console.wait_for(lambda: all("Resolved" in _status(c) for c in _cards(world)[incident_id]),
                           "both cards to show the group resolved")
    assert _incident(world, incident_id)["status"] == "resolved"
    assert len(_cards(world)[incident_id]) == 2


def test_silence_on_the_card_is_a_real_silence_and_unsilence_expires_it(world):
    alerts = [_alert("E2eSilenceMe", "web-1")]
    incident_id, cards = _fire(world, alerts)
    personal = _personal(world, cards)
    _click(world, personal, {"action": "silence", "incident_id": incident_id, "minutes": 120})

    silence = world.console.wait_for(lambda: next(iter(world.alertmanager.silences()), None), "the silence")
    assert silence["status"]["state"] == "active" and silence["createdBy"] == world.person["name"]
    assert sorted((m["name"], m["value"], m["isRegex"], m.get("isEqual", True)) for m in silence["matchers"]) == [
        ("alertname", "E2eSilenceMe", False, True), ("cluster", "prod-sh", False, True)]
    page = next(url for url in re.findall(r"https?://\S+", silence["comment"]) if url.endswith(f"/{incident_id}"))
    assert requests.get(page, timeout=10, allow_redirects=False).status_code < 400
    minutes = (_epoch(silence["endsAt"]) - _epoch(silence["startsAt"])) / 60
    assert 119 < minutes < 121
    suppressed = requests.get(f"{world.alertmanager.url}/api/v2/alerts", timeout=10,
                              params={"filter": 'alertname="E2eSilenceMe"', "silenced": "true"}).json()
    assert [a["status"]["silencedBy"] for a in suppressed] == [[silence["id"]]]
    incident = _incident(world, incident_id)
    assert incident["silence"]["id"] == silence["id"] and incident["silence"]["backend"] == "Alertmanager"
    world.console.wait_for(lambda: "取消屏蔽" in _buttons(_personal(world, _cards(world)[incident_id])),
                           "the card to offer 取消屏蔽")

    _click(world, _personal(world, _cards(world)[incident_id]), {"action": "unsilence", "incident_id": incident_id})
    expired = world.console.wait_for(
        lambda: next((s for s in world.alertmanager.silences() if s["status"]["state"] == "expired"), None),
        "the silence to expire")
    assert expired["id"] == silence["id"] and len(world.alertmanager.silences()) == 1
    assert not _incident(world, incident_id).get("silence")
    world.alertmanager.post_alerts(_resolved(alerts))


def test_a_repeat_changes_nothing(world, console):
    """Alertmanager's repeat_interval sends the group again, byte for byte: no delivery, no card update, no
    timeline entry. A second Alertmanager with a 1 s repeat_interval, so only this group repeats."""
    repeating = Alertmanager(timing=Timing(group_wait="1s", group_interval="1s", repeat_interval="1s")).start()
    try:
        repeating.rewire(world.source["push_url"])
        alerts = [_alert("E2eRepeat", "cache-1")]
        incident_id, _ = _fire(World(console, repeating, world.source, world.group, world.person), alerts)
        _settled(world)
        before = (_incident(world, incident_id), _cards(world)[incident_id], _sent_calls(console))
        first = repeating.notifications_sent()
        world.console.wait_for(lambda: repeating.notifications_sent() >= first + 2, "two repeats", timeout=15)
        _settled(world)
        assert (_incident(world, incident_id), _cards(world)[incident_id], _sent_calls(console)) == before
        repeating.post_alerts(_resolved(alerts))
        world.console.wait_for(lambda: _incident(world, incident_id)["status"] == "resolved", "the resolution")
    finally:
        repeating.stop()


def test_the_group_firing_again_after_a_close_opens_a_new_incident(world):
    alerts = [_alert("E2eRefire", "mq-1")]
    first_id, cards = _fire(world, alerts)
    _click(world, _personal(world, cards), {"action": "resolve", "incident_id": first_id})
    world.console.wait_for(lambda: _incident(world, first_id)["status"] == "resolved", "the person's 关闭")
    world.alertmanager.post_alerts(_resolved(alerts))  # the producer's own resolution changes nothing more
    _settled(world)
    closed = _incident(world, first_id)
    assert [i for i in _cards(world) if "E2eRefire" in _incident(world, i)["title"]] == [first_id]

    second_id, second_cards = _fire(world, [_alert("E2eRefire", "mq-1")])
    assert second_id.rsplit(".", 1) == [first_id.rsplit(".", 1)[0], "2"]  # the same group, its next generation
    assert _incident(world, second_id)["previous_incident_id"] == first_id
    assert {c["messageId"] for c in second_cards}.isdisjoint(c["messageId"] for c in cards)
    assert _incident(world, first_id)["status"] == closed["status"] == "resolved"
    world.alertmanager.post_alerts(_resolved(alerts))


def _sent_calls(console: Console) -> dict:
    """The Feishu API calls that send or update a message, by path, with their counts."""
    return {path: n for path, n in _feishu(console)["calls"].items() if "message" in path or "card" in path}


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
