"""Fit a card into a platform's limits without dropping anything silently.

Each platform knows its limits (lines, bytes, characters) and says whether a card fits; this module
decides *what* goes when it does not: the description is shortened to what fits, then the facts and
alert lines are taken in priority order — the facts that rank first (``label_order``, or a template's
lines), then the alerts, then the other facts — as many of each rank as still fit beside those before. What was
left out is counted on the card's "还有 N 项 · +N more" line, whose link (the incident page) shows all of
it, and recorded in ``Card.cut`` for the preview.
"""
from __future__ import annotations

from typing import Callable

from chalicelib.core.cards import Card, Cut

ELLIPSIS = "…"


def fit(card: Card, fits: Callable[[Card], bool], description_fits: Callable[[str], bool] | None = None) -> Card:
    """The card as shown within the limits ``fits`` checks (``description_fits`` those of the description)."""
    description = _description(card.description, description_fits)
    ranks = [[("fact", i) for i in range(card.lead)], [("alert", i) for i in range(len(card.alerts))],
             [("fact", i) for i in range(card.lead, len(card.facts))]]
    everything = _shown(card, [item for rank in ranks for item in rank], description)
    if fits(everything):
        return everything
    chosen: list[tuple[str, int]] = []
    for rank in ranks:  # the most of each rank that fits beside what the ranks before it keep
        taken = _most(len(rank), lambda n, rank=rank, before=tuple(chosen):
                      fits(_shown(card, [*before, *rank[:n]], description)))
        chosen += rank[:taken]
    return _shown(card, chosen, description)


def _most(count: int, fits: Callable[[int], bool]) -> int:
    """The largest ``n`` ≤ ``count`` for which ``fits(n)`` holds (0 when none does); fewer never fit worse, so
    a binary search finds it in log2(count) tries."""
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _description(text: str, fits: Callable[[str], bool] | None) -> str:
    """The longest start of ``text`` that fits, marked as cut; the whole when it fits."""
    if fits is None or fits(text):
        return text
    kept = _most(len(text), lambda n: fits(text[:n] + ELLIPSIS))
    return text[:kept] + ELLIPSIS if kept else ""


def _shown(card: Card, items: list[tuple[str, int]], description: str) -> Card:
    facts = sorted(i for kind, i in items if kind == "fact")
    alerts = sorted(i for kind, i in items if kind == "alert")
    lead = sum(1 for i in facts if i < card.lead)
    earlier = card.cut  # what an earlier fit of this card left out (fitting a fitted card changes nothing)
    cut = Cut(facts=earlier.facts + [key or value for i, (key, value) in enumerate(card.facts) if i not in facts],
              alerts=card.alert_total - len(alerts) if card.alert_count else 0,
              description=earlier.description + (len(card.description) - len(description.removesuffix(ELLIPSIS))
                                                 if description != card.description else 0))
    return card.model_copy(update={"facts": [card.facts[i] for i in facts], "lead": lead,
                                   "alerts": [card.alerts[i] for i in alerts], "description": description,
                                   "cut": cut, "more": cut.line()})
