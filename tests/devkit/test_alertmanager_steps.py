"""What the walkthrough prints for the demo Alertmanager source, for each Alertmanager at hand (no process
is started: this runs without Alertmanager installed)."""
from __future__ import annotations

from devkit.alertmanager import INSTALL_HINT, receiver_snippet
from devkit.walkthrough import alertmanager_steps

PUSH_URL = "http://127.0.0.1:8000/push/src_demo?key=k_demo"


def _indented(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())


def test_without_alertmanager_it_still_gives_the_push_url_and_receiver_and_says_how_to_install():
    steps = alertmanager_steps(PUSH_URL, None, None)
    assert f"push_url {PUSH_URL}" in steps and _indented(receiver_snippet(PUSH_URL)) in steps
    assert INSTALL_HINT in steps and "--alertmanager.url=http://127.0.0.1:9093 alert add alertname=DiskFull" in steps


def test_with_the_alertmanager_make_run_started_it_says_it_is_wired():
    steps = alertmanager_steps(PUSH_URL, "http://127.0.0.1:9193", "/tmp/am/alertmanager.yml")
    assert "The Alertmanager at http://127.0.0.1:9193 now sends every alert group there" in steps
    assert INSTALL_HINT not in steps and "amtool --alertmanager.url=http://127.0.0.1:9193 silence query" in steps


def test_with_someone_elses_alertmanager_it_says_to_add_the_receiver():
    steps = alertmanager_steps(PUSH_URL, "http://am.example.internal:9093", None)
    assert "Add that receiver to the alertmanager.yml of http://am.example.internal:9093 and reload it." in steps
