"""The neutral alert group: times as producers write them, titles, severities, and merging by fingerprint."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.core import alerts
from chalicelib.sources import kind

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources" / "alertmanager"


def group(name: str) -> alerts.AlertGroup:
    return kind("alertmanager").parse((FIXTURES / name).read_bytes())


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-01T18:14:38Z", 1796148878.0),
    ("2026-12-01T18:14:38.475192246Z", 1796148878.475192),  # Alertmanager's own nanoseconds
    ("2026-12-02T02:14:38.123+08:00", 1796148878.123),
    ("0001-01-01T00:00:00Z", None),  # Go's zero time: still firing
])
def test_times_as_producers_write_them(text, expected):
    found = alerts.epoch(text)
    assert found == pytest.approx(expected) if expected else found is None


@pytest.mark.parametrize("text", ["yesterday", "2026-12-01 18:14:38", "2026-12-01T18:14:38"])
def test_a_time_without_a_zone_is_refused(text):
    with pytest.raises(ValueError):
        alerts.epoch(text)


def test_without_a_summary_the_title_is_the_alertname_and_group_labels():
    body = group("seq1_firing.json").model_copy(update={"common_annotations": {}})
    assert alerts.title(body) == "NodeHighCPU (cluster=prod-sh)"


def test_without_group_labels_the_title_names_the_alerts():
    assert alerts.title(group("no_group_labels_firing.json")).count(",") == 1


@pytest.mark.parametrize(("labels", "expected"), [
    ([{"severity": "critical"}, {"severity": "info"}], "critical"),
    ([{"severity": "info"}], "info"),
    ([{"severity": "page"}], "warning"),
    ([{}], "warning"),
])
def test_severity_is_the_highest_label_of_the_firing_alerts(labels, expected):
    base = group("seq1_firing.json")
    body = base.model_copy(update={"common_labels": {}, "alerts": [
        base.alerts[0].model_copy(update={"labels": lab, "fingerprint": str(n)}) for n, lab in enumerate(labels)]})
    assert alerts.severity(body) == expected


def test_a_late_firing_never_undoes_a_resolution():
    firing, resolved = group("seq1_firing.json"), group("seq2_one_resolved.json")
    merged = alerts.merge(alerts.merge([], firing), resolved)
    assert alerts.merge(merged, firing) == merged  # the earlier push handed over last


def test_the_same_alert_firing_again_is_a_new_instance():
    first, again = group("seq4_all_resolved.json"), group("seq5_refire.json")
    seen = alerts.remember([], first)
    assert alerts.fires_anew(again, seen) and not alerts.fires_anew(group("seq1_firing.json"), alerts.remember(
        [], group("seq1_firing.json")))


def test_what_an_incident_keeps_of_huge_alerts_fits_a_dynamodb_item():
    base = group("seq1_firing.json")
    huge = {f"label_{n:02d}": "x" * 600 for n in range(60)}
    body = base.model_copy(update={"alerts": [
        base.alerts[0].model_copy(update={"labels": huge, "fingerprint": f"{n:016x}", "generator_url": "u" * 4000,
                                          "annotations": {"summary": "s" * 5000}}) for n in range(300)]})
    kept = alerts.merge([], body)
    assert 0 < len(kept) <= alerts.MAX_KEPT_ALERTS
    assert len(json.dumps(kept).encode()) <= alerts.KEPT_BYTES
