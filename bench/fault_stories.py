"""The incidents of a fault run and what happens to them: who is paged, then producers and people
changing their state, some of them at the same moment.

Each incident gets a plan (its targets and a scenario) from the run's seed; a driver thread plays it:
the producer's notification, a wait until a card shows, then the scenario's steps a moment apart. A
click is a person pressing a button their card shows now (a button that is gone cannot be pressed);
a race fires its steps at once.
"""
from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

# name -> steps; a step is ("click", action), ("produce", status) or ("race", (step, step))
SCENARIOS: dict[str, tuple[Any, ...]] = {
    "stays triggered": (),
    "producer resolves": (("produce", "resolved"),),
    "producer acks, then resolves": (("produce", "acknowledged"), ("produce", "resolved")),
    "click ack, click resolve": (("click", "ack"), ("click", "resolve")),
    "click ack, producer resolves": (("click", "ack"), ("produce", "resolved")),
    "click silence, producer resolves": (("click", "silence"), ("produce", "resolved")),
    "two people click at once": (("race", (("click", "ack"), ("click", "resolve"))),),
    "a click races the producer": (("click", "ack"), ("race", (("click", "resolve"), ("produce", "resolved")))),
    "double click": (("race", (("click", "ack"), ("click", "ack"))),),
}
WEIGHTS = (1, 2, 1, 2, 2, 1, 1, 1, 1)
CARD_WAIT = 60.0  # real seconds a driver waits for the incident's first card


@dataclass(frozen=True)
class Target:
    """Somewhere an incident can be paged: a linked person or a group, on one integration."""

    platform: str
    integration_id: str
    kind: str  # "user" or "chat"
    target: str  # the delivery target: platform user id or chat id
    member_id: str = ""  # for people: the member the producer names
    clickers: tuple[str, ...] = ()  # platform users who see its card and may press its buttons


@dataclass
class Plan:
    incident_id: str
    targets: list[Target]
    scenario: str
    seed: str

    def notification(self, status: str) -> dict[str, Any]:
        return {"version": 1, "incident": {"id": self.incident_id, "title": f"fault run {self.incident_id}",
                                           "severity": "critical", "status": status,
                                           "labels": {"service": "db", "scenario": self.scenario}},
                "targets": {"members": [t.member_id for t in self.targets if t.kind == "user"],
                            "chats": [{"integration_id": t.integration_id, "chat_id": t.target}
                                      for t in self.targets if t.kind == "chat"]}}


def plan_incidents(targets: list[Target], cards: int, seed: int) -> list[Plan]:
    """Incidents to 1-3 people and, now and then, a group, until ``cards`` cards are asked for."""
    rng = random.Random(seed)
    people, groups = [t for t in targets if t.kind == "user"], [t for t in targets if t.kind == "chat"]
    plans: list[Plan] = []
    while cards > 0:
        chosen = rng.sample(people, min(len(people), rng.choice((1, 1, 2, 3))))
        if groups and rng.random() < 0.3:
            chosen.append(rng.choice(groups))
        chosen = chosen[:cards]
        scenario = rng.choices(list(SCENARIOS), WEIGHTS)[0]
        plans.append(Plan(f"fr{seed}-{len(plans):04d}", chosen, scenario, f"{seed}/{len(plans)}"))
        cards -= len(chosen)
    return plans


@dataclass
class Driver:
    """Plays plans against the running system; ``views`` are the simulators' clients (devkit.simulators.client)."""

    views: dict[str, Any]
    produce: Callable[[str], None]  # sends one notification body to the producers' queue
    counts: Counter[str] = field(default_factory=Counter)
    unapplied: set[tuple[str, str]] = field(default_factory=set)  # (platform, card) whose click reply was not applied
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def play(self, plan: Plan) -> None:
        rng = random.Random(plan.seed)
        self._produce(plan, "triggered")
        if not self._first_card(plan):
            self.count("incidents whose card never showed")
            return
        for step in SCENARIOS[plan.scenario]:
            time.sleep(rng.uniform(0.3, 2.0))
            if step[0] == "race":
                ready = [self._prepare(plan, inner, rng) for inner in step[1]]
                threads = [threading.Thread(target=go) for go in ready if go]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            elif go := self._prepare(plan, step, rng):
                go()

    def _produce(self, plan: Plan, status: str) -> None:
        self.produce(json.dumps(plan.notification(status), ensure_ascii=False))
        self.count(f"producer: {status}")

    def _cards(self, plan: Plan) -> list[Any]:
        return [card for view in self.views.values() for card in view.cards() if card.incident_id == plan.incident_id]

    def _first_card(self, plan: Plan) -> bool:
        deadline = time.monotonic() + CARD_WAIT
        while time.monotonic() < deadline:
            if self._cards(plan):
                return True
            time.sleep(0.5)
        return False

    def _prepare(self, plan: Plan, step: tuple[str, str], rng: random.Random) -> Callable[[], None] | None:
        """The step ready to go, or None when nobody can press that button now."""
        kind, what = step
        if kind == "produce":
            return lambda: self._produce(plan, what)
        choices = []
        for card in self._cards(plan):
            press = self.views[card.platform].actions(card).get(what)
            clickers = next((t.clickers for t in plan.targets if (t.platform, t.kind, t.target) ==
                             (card.platform, card.kind, card.target)), ())
            choices += [(card, press, user) for user in clickers if press]
        if not choices:
            self.count(f"click {what}: no card offers it")
            return None
        card, press, user = rng.choice(choices)
        return lambda: self._click(card, user, press, what)

    def _click(self, card: Any, user: str, press: dict[str, Any], action: str) -> None:
        answer = self.views[card.platform].click(card, user, press)
        if "refused" in answer:
            outcome = "refused by the simulator"
        elif answer.get("applied"):
            outcome = "reply applied"
        elif answer.get("ignored") is None:
            outcome = "answered, nothing to apply"
        else:
            outcome = "reply not applied"
            with self.lock:
                self.unapplied.add((card.platform, card.handle))
        self.count(f"click ({card.platform}): {outcome}")
