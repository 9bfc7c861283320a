"""Reports on every registered platform, app cards and robot messages alike: each DataWind kind goes in as a
queued notification, through fan-out and the delivery pipeline, to the platform's simulator, which checks the
request as the platform does. What the platform was sent must show the report's title, outcome, text, kind and
link, and offer nothing to click; a changed report updates (an app's card) or follows up (a robot's message)."""
from __future__ import annotations

import json
import re
from typing import Iterator

import pytest
import requests

from chalicelib.common import clock
from chalicelib.flows import consumers
from chalicelib.platforms import adapter_class, adapter_for, http, names
from chalicelib.platforms.robot import CHAT
from chalicelib.store import deliveries, people
from chalicelib.store import integrations as integration_store
from devkit.console import Console
from devkit.simulators import entry_for
from tests.conftest import drain
from tests.factories import member
from tests.platforms.test_adapter_contract import _serving_callbacks as serving_callbacks
from tests.unit.test_reports import report_body

LINK = "https://datawind.example.com/dashboard/42"
KINDS = [  # (kind, status, the kind's words, the outcome's words): Feishu shows each language on its own
    ("dashboard", None, ("仪表盘订阅", "Dashboard"), ("通知", "Notice")),
    ("dataset_sync", "failed", ("数据集同步", "Dataset sync"), ("失败", "Failed")),
    ("chart_alarm", "success", ("图表监控报警", "Chart alarm"), ("成功", "Success")),
]
# What a button carries back to dutybridge on every platform: an action's name (Feishu's value, WeCom's key).
ACTION_VALUE = re.compile(r"^(ack|resolve|silence|unsilence|war_room)(/|$)")  # 状态刷新 changes nothing


@pytest.fixture(params=names())
def platform(request, client, admin_headers, monkeypatch) -> Iterator[tuple[dict, object, list[dict]]]:
    """A platform's integration saved as its seed guide has the admin save it, against its simulator; yields the
    integration, the simulator and every request body the platform accepted."""
    entry = entry_for(request.param)
    monkeypatch.setattr(consumers, "retry_delay", lambda attempt, exc: 0)  # moto would hold retries back
    sim, served = entry.simulator(), {}
    with sim.serving(), serving_callbacks(served) as base:
        state = requests.get(sim.mounted("/_sim/state"), timeout=10).json()
        answer = client.http.post("/integrations", headers=admin_headers,
                                  body=json.dumps(entry.integration(state, sim.base_url)))
        assert answer.status_code == 201, answer.body
        item = integration_store.get(json.loads(answer.body)["id"])
        served["adapter"] = adapter_for(item)  # the console's URL steps, checked by the platform's handshakes
        saved = entry.save_urls(Console("", "", sim.base_url), served["adapter"].urls(base))
        assert all(answer.get("ok") for answer in saved.values()), saved
        yield item, sim, _accepted(monkeypatch)


def _accepted(monkeypatch) -> list[dict]:
    """The JSON bodies the platform answered 2xx to, as they went out."""
    seen: list[dict] = []
    real = http._session.request

    def request(method, url, **kwargs):
        answer = real(method, url, **kwargs)
        if answer.ok and kwargs.get("data"):
            seen.append(json.loads(kwargs["data"]))
        return answer

    monkeypatch.setattr(http._session, "request", request)
    return seen


def _texts(value: object) -> list[str]:
    """Every string in a request body, JSON carried inside strings (Feishu's card content) opened too."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, str) and value.startswith(("{", "[")):
        try:
            return _texts(json.loads(value))
        except ValueError:
            pass
    return [value] if isinstance(value, str) else []


def _targets(item: dict, sim) -> dict:
    """An app's first simulated person, linked as alice; a robot's one group."""
    if not adapter_class(item["platform"]).reaches_people:
        return {"chats": [{"integration_id": item["id"], "chat_id": CHAT}]}
    mobile = next(iter(sim.directory.users.values())).mobile
    member(mobile=mobile)
    people.bind("alice", item["id"], adapter_for(item).user_by_mobile(mobile), "Alice", clock.iso())
    return {"members": ["alice"]}


def _notify(body: dict) -> None:
    consumers.handle_notification(json.dumps(body))
    while jobs := drain("deliveries"):
        for job in jobs:
            consumers.handle_delivery(json.dumps(job["body"]))


def test_each_report_kind_reaches_the_platform_as_a_notice_with_its_link_and_nothing_to_click(platform):
    item, sim, accepted = platform
    targets = _targets(item, sim)
    for number, (kind, status, kind_words, outcome) in enumerate(KINDS):
        before = len(accepted)
        _notify({**report_body(f"r-{kind}", kind=kind, status=status, url=LINK, title=f"报告 {number}",
                               text=f"正文 {number} text"), "targets": targets})
        record, = deliveries.of(f"report.r-{kind}")
        assert record["state"] == "sent", (record["state"], record.get("error"))
        texts = [text for body in accepted[before:] for text in _texts(body)]
        shown = "\n".join(texts)
        for words in (f"报告 {number}", f"正文 {number} text", *kind_words, *outcome):
            assert any(words.replace(" ", "") in text.replace(" ", "").replace("\\", "") for text in texts), (
                item["platform"], words, shown)
        assert LINK in shown and f"{LINK}?view" not in shown, shown  # the report's own link, as given
        assert not [text for text in texts if ACTION_VALUE.match(text)], (item["platform"], shown)


def test_a_report_sent_again_with_a_new_outcome_reaches_the_platform_again(platform):
    item, sim, accepted = platform
    targets = _targets(item, sim)
    _notify({**report_body("sync-orders", kind="dataset_sync", status="success", url=LINK), "targets": targets})
    before = len(accepted)
    _notify({**report_body("sync-orders", kind="dataset_sync", status="failed", url=LINK), "targets": targets})
    record, = deliveries.of("report.sync-orders")
    assert record["state"] == "sent" and not record.get("error"), record
    assert any("失败" in text for body in accepted[before:] for text in _texts(body)), item["platform"]


def test_a_wecom_report_notice_carries_the_menu_that_lets_it_be_updated_and_a_digest_does_not(aws_env):
    from chalicelib.core import cards, reports
    from chalicelib.core.models import Report
    from chalicelib.platforms.wecom.cards import render
    record, _ = reports.ingest(Report(id="sales-daily", kind="dashboard", title="销售日报"))
    notice = render(cards.build(record, "int_wc"), "task-1")
    assert (notice["card_type"], notice["task_id"]) == ("text_notice", "task-1")
    assert [a["key"] for a in notice["action_menu"]["action_list"]] == ["refresh/0/report.sales-daily"]
    digest = cards.build(record, "int_wc").model_copy(update={"incident_id": "digest-1800000000"})
    assert "action_menu" not in render(digest, "task-2") and "task_id" not in render(digest, "task-2")
