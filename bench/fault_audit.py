"""After a fault run: every card as its platform shows it, against the incident as the app stores it.

A delivery is a record of the app's deliveries table for an incident of the run (people not linked
on that integration are left out: they get no card, by design). For each one:
- its cards on the platform: none, one, or more (a duplicate);
- none and no error recorded: lost;
- a card is stale when it does not show exactly what the app renders for the incident now (status line,
  buttons, who acted, silence). Stale with a reason: the delivery records an error (failed, parked,
  deferred or an update refused, with the platform's code; WeCom's spent update code is one). Stale
  without a reason: the record says all is well. Its fingerprint tells which way: an older card recorded
  as shown with no update queued to follow it, or the current card recorded as shown (so the app will
  never update it again) although a click's reply carrying it was not applied or the platform kept an
  older card.
A record saying ``failed`` for a card the platform shows is counted apart: its reason is not true.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

from bench.fault_platforms import expected, status_shown
from chalicelib.common import aws
from chalicelib.core import cards, incidents
from chalicelib.platforms import adapter_for
from chalicelib.store import integrations as integration_store
from chalicelib.store.base import scan_all


@dataclass
class Tally:
    deliveries: int = 0  # records that ask for a card
    cards: int = 0  # cards the platform shows for them
    stale: int = 0
    stale_with_reason: int = 0
    stale_without_reason: int = 0
    duplicates: int = 0  # cards beyond the first for one delivery
    lost: int = 0  # no card, no error recorded
    undelivered_with_reason: int = 0  # no card, an error recorded
    failed_but_shown: int = 0  # recorded failed, yet the platform shows the card

    def add(self, other: Tally) -> None:
        for name in TALLIES:
            setattr(self, name, getattr(self, name) + getattr(other, name))


TALLIES = tuple(f.name for f in fields(Tally))


@dataclass
class Audit:
    platforms: dict[str, Tally] = field(default_factory=dict)
    causes: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (platform, reason?, cause) -> cards
    strays: int = 0  # cards of the run's incidents that no delivery record names
    stale_cards: list[dict[str, Any]] = field(default_factory=list)  # each stale card with its record and incident

    @property
    def total(self) -> Tally:
        total = Tally()
        for tally in self.platforms.values():
            total.add(tally)
        return total

    def summary(self) -> dict[str, Any]:
        return {"total": vars(self.total), "platforms": {p: vars(t) for p, t in self.platforms.items()},
                "causes": [{"platform": p, "reason": r, "cause": c, "cards": n} for (p, r, c), n in
                           sorted(self.causes.items())], "strays": self.strays}


def _error_head(record: dict[str, Any]) -> str:
    """``wecom 42014`` from ``wecom 42014: taskid has existed…``: the platform and its code."""
    error = str(record.get("error") or "")
    return error.split(":", 1)[0] if ":" in error else error[:60]


def _evidence(card: Any, record: dict[str, Any], incident: dict[str, Any], cause: str) -> dict[str, Any]:
    """What a stale card shows and what the app knows of it, for whoever looks into the cause."""
    return {"platform": card.platform, "incident_id": card.incident_id, "kind": card.kind, "target": card.target,
            "cause": cause, "shows": status_shown(card), "status": incident["status"],
            "record": {k: record.get(k) for k in ("state", "error", "ref", "card_digest", "sent_at", "updated_at")},
            "timeline": [(e["at"], e["action"], e.get("by"), e.get("source")) for e in incident.get("timeline", [])]}


def _unexplained(card: Any, record: dict[str, Any], current: cards.Card, unapplied: set[tuple[str, str]]) -> str:
    """How a card the record calls fine came to be stale, from what the record believes it shows."""
    if record.get("card_digest") != current.digest():
        return "an older state recorded as shown, no update followed"
    if (card.platform, card.handle) in unapplied:
        return "click reply not applied, recorded as shown"
    return "recorded as shown, the platform kept an older card"


def audit(incident_ids: set[str], views: dict[str, Any], unapplied: set[tuple[str, str]]) -> Audit:
    """``unapplied``: the cards (platform, handle) a click was answered on without the platform applying it."""
    records = [r for r in scan_all(aws.table("deliveries")) if r["incident_id"] in incident_ids
               and r.get("state") != "unbound" and r.get("kind") in ("user", "chat")]
    shown: dict[tuple[str, str, str, str], list[Any]] = {}
    for view in views.values():
        for card in view.cards():
            if card.incident_id in incident_ids:
                shown.setdefault((card.platform, card.kind, card.target, card.incident_id), []).append(card)
    adapters = {i["id"]: adapter_for(i) for i in integration_store.all()}
    stored = {incident_id: incidents.get(incident_id) for incident_id in incident_ids}
    result = Audit(platforms={name: Tally() for name in views})
    for record in records:
        adapter = adapters[record["integration_id"]]
        found = shown.pop((adapter.name, record["kind"], record["target"], record["incident_id"]), [])
        tally = result.platforms[adapter.name]
        tally.deliveries += 1
        tally.cards += len(found)
        tally.duplicates += max(0, len(found) - 1)
        if not found:
            if record.get("error"):
                tally.undelivered_with_reason += 1
            else:
                tally.lost += 1
            continue
        if record.get("state") == "failed":
            tally.failed_but_shown += 1
        incident = stored[record["incident_id"]]
        current = cards.build(incident, record["integration_id"])
        for card in found:
            if card.content == expected(adapter, current, card):
                continue
            tally.stale += 1
            if record.get("error"):
                tally.stale_with_reason += 1
                cause, reason = f"{record['state']}: {_error_head(record)}", "with reason"
            else:
                tally.stale_without_reason += 1
                cause, reason = _unexplained(card, record, current, unapplied), "without reason"
            result.causes[(adapter.name, reason, cause)] += 1
            result.stale_cards.append({"reason": reason, **_evidence(card, record, incident, cause)})
    result.strays = sum(len(left) for left in shown.values())
    return result


def table(result: Audit) -> str:
    """The per-platform counts and the stale cards by cause, as a plain-text table."""
    header = ["platform", *(name.replace("_", " ") for name in TALLIES)]
    rows = [[name, *(str(getattr(t, f)) for f in TALLIES)] for name, t in result.platforms.items()]
    rows.append(["total", *(str(getattr(result.total, f)) for f in TALLIES)])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
             for row in [header, *rows]]
    lines.append("")
    lines.append("stale cards by cause:" if result.causes else "stale cards by cause: none")
    for (platform, reason, cause), count in sorted(result.causes.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"  {count:4d}  {platform:8s}  {reason:14s}  {cause}")
    shown = Counter(f"{card['shows']} on {card['status']}" for card in result.stale_cards)
    if shown:
        lines.append("what they show: " + ", ".join(f"{what} {n}" for what, n in shown.most_common()))
    if result.strays:
        lines.append(f"cards no delivery record names: {result.strays}")
    return "\n".join(lines)
