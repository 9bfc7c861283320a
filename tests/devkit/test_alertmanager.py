"""devkit.alertmanager against the real Alertmanager 0.25: the configs it writes are valid, and it starts,
rewires and stops one."""
from __future__ import annotations

import subprocess

import pytest
import requests

import tests.needs_alertmanager  # noqa: F401 - skips this module without Alertmanager
from devkit.alertmanager import Alertmanager, Timing, config_text, receiver_snippet
from devkit.walkthrough import alertmanager_steps

PUSH_URL = "http://127.0.0.1:8000/push/src_demo?key=k_de'mo"


@pytest.mark.parametrize("push_url", [PUSH_URL, None], ids=["wired", "not-yet-wired"])
def test_the_config_passes_amtool_check_config(tmp_path, push_url):
    path = tmp_path / "alertmanager.yml"
    path.write_text(config_text(push_url, Timing("1s", "1s", "3s")), encoding="utf-8")
    checked = subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_rewire_reloads_the_running_alertmanager_onto_the_push_url():
    alertmanager = Alertmanager(timing=Timing(repeat_interval="7m")).start()
    try:
        assert alertmanager.silences() == [] and alertmanager.notifications_sent() == 0
        alertmanager.rewire(PUSH_URL)
        config = requests.get(f"{alertmanager.url}/api/v2/status", timeout=10).json()["config"]["original"]
        # the webhook url in clear, send_resolved on, the timing kept (GET /api/v2/status shows the loaded file)
        assert "url: http://127.0.0.1:8000/push/src_demo?key=k_de'mo" in config
        assert "send_resolved: true" in config and "repeat_interval: 7m" in config
        assert receiver_snippet(PUSH_URL) in alertmanager.config_path.read_text(encoding="utf-8")
    finally:
        alertmanager.stop()
    assert alertmanager.process.returncode is not None and not alertmanager.workdir.exists()



def test_the_printed_amtool_lines_fire_and_resolve_the_alert(tmp_path):
    alertmanager = Alertmanager().start()
    try:
        steps = alertmanager_steps("http://127.0.0.1:8000/push/src_demo?key=k", alertmanager.url, "am.yml")
        fire, resolve = [line.strip() for line in steps.splitlines() if line.strip().startswith("amtool ")
                         and "alert add" in line]
        subprocess.run(["bash", "-c", fire], check=True, timeout=30)
        alerts = requests.get(f"{alertmanager.url}/api/v2/alerts", timeout=10).json()
        assert [(a["labels"]["alertname"], a["annotations"]["summary"]) for a in alerts] == [
            ("DiskFull", "磁盘将满 Disk almost full on db-1")]
        subprocess.run(["bash", "-c", resolve], check=True, timeout=30)
        assert requests.get(f"{alertmanager.url}/api/v2/alerts", timeout=10).json() == []
    finally:
        alertmanager.stop()
