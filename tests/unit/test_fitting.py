"""What a card keeps when it does not fit: priority order, the count of what it left out, nothing silently."""
from __future__ import annotations

from chalicelib.core import cards, fitting
from tests.factories import alert_group, with_alerts

INCIDENT = {"id": "inc-fit", "severity": "warning", "status": "triggered", "title": "t",
            "description": "d" * 500, "labels": {"a": "1", "b": "2", "c": "3", "service": "db", "region": "cn"}}
ORDER = {"label_order": ["service", "region"]}


def _card(**changes) -> cards.Card:
    return cards.build({**INCIDENT, **changes}, "int_x", ORDER)


def _at_most(lines: int):
    return lambda card: len(card.facts) + len(card.alerts) + (1 if card.more else 0) <= lines


def test_listed_labels_come_first_and_the_rest_by_name():
    card = _card()
    assert card.facts == [("service", "db"), ("region", "cn"), ("a", "1"), ("b", "2"), ("c", "3")] and card.lead == 2


def test_a_card_that_fits_is_shown_whole_and_says_nothing_more():
    shown = fitting.fit(_card(), _at_most(10))
    assert shown.facts == _card().facts and shown.more == "" and shown.cut.count() == 0


def test_what_does_not_fit_goes_in_priority_order_and_is_counted():
    shown = fitting.fit(_card(), _at_most(4))
    assert shown.facts == [("service", "db"), ("region", "cn"), ("a", "1")]
    assert shown.cut.facts == ["b", "c"] and shown.more == "还有 2 项 · +2 more"


def test_alerts_rank_after_the_listed_labels_and_before_the_others():
    card = cards.build(with_alerts(INCIDENT, alert_group(30, "disk full")), "int_x", ORDER)
    shown = fitting.fit(card, _at_most(6))
    assert [k for k, _ in shown.facts] == ["service", "region"] and len(shown.alerts) == 3
    assert shown.cut.alerts == 27 and shown.cut.facts == ["a", "b", "c"] and shown.more == "还有 30 项 · +30 more"


def test_a_shortened_description_counts_as_one_item_left_out():
    shown = fitting.fit(_card(), _at_most(10), lambda text: len(text) <= 100)
    assert len(shown.description) == 100 and shown.description.endswith("…")
    assert shown.cut.description == 401 and shown.more == "还有 1 项 · +1 more"


def test_fitting_a_fitted_card_changes_nothing():
    once = fitting.fit(_card(), _at_most(4), lambda text: len(text) <= 100)
    assert fitting.fit(once, _at_most(4), lambda text: len(text) <= 100) == once


def test_when_even_the_least_does_not_fit_everything_is_counted():
    shown = fitting.fit(_card(), lambda card: False)
    assert shown.facts == [] and shown.more == "还有 5 项 · +5 more"
