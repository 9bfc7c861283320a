"""Custom group robots through the real admin API and delivery pipeline, against a webhook that records
what it receives. The DingTalk 加签 vector is the one computed in platform-protocols.md §1.7 from the
official algorithm; the simulators (devkit/simulators/*/robot) check signatures and keywords the
platforms' way in the contract and end-to-end tests."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.common import clock
from chalicelib.common.errors import Permanent, RateLimited
from chalicelib.core import incidents
from chalicelib.core.models import Action
from chalicelib.flows import consumers
from chalicelib.store import deliveries, people
from tests.conftest import drain
from tests.factories import member, notification


class Webhook(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []
    answers: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Webhook.received.append((self.path, body))
        feishu = "/bot/v2/hook/" in self.path
        ok = {"code": 0, "msg": "success", "data": {}} if feishu else {"errcode": 0, "errmsg": "ok"}
        answer = json.dumps(Webhook.answers.pop(0) if Webhook.answers else ok).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook():
    Webhook.received, Webhook.answers = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


ROBOTS = {
    "dingtalk-robot": lambda base: ({"webhook": f"{base}/robot/send?access_token=tok123", "secret": "SECdemo-secret"},
                                    {"oapi_base": base, "keyword": "告警"}),
    "feishu-robot": lambda base: ({"webhook": f"{base}/open-apis/bot/v2/hook/hook-1", "secret": "fs-secret"},
                                  {"api_base": base, "keyword": "告警"}),
    "wecom-robot": lambda base: ({"webhook": f"{base}/cgi-bin/webhook/send?key=key-1"}, {"api_base": base}),
}


def create_robot(client, admin_headers, platform: str, base: str) -> dict:
    credentials, settings = ROBOTS[platform](base)
    answer = client.http.post("/integrations", headers=admin_headers, body=json.dumps(
        {"platform": platform, "name": "值班群机器人", "credentials": credentials, "settings": settings}))
    assert answer.status_code == 201, answer.body
    return json.loads(answer.body)


def run_all() -> None:
    for message in drain("notifications"):
        consumers.handle_notification(json.dumps(message["body"]))
    while jobs := drain("deliveries"):
        for job in jobs:
            consumers.handle_delivery(json.dumps(job["body"]))


@pytest.mark.parametrize("platform", list(ROBOTS))
def test_saving_a_robot_sends_nothing_and_gives_it_its_one_chat(client, admin_headers, webhook, platform):
    view = create_robot(client, admin_headers, platform, webhook)
    assert Webhook.received == [] and view["urls"] == {}
    chats = json.loads(client.http.get(f"/integrations/{view['id']}/chats", headers=admin_headers).body)
    assert [c["chat_id"] for c in chats] == ["robot"]
    assert "tok123" not in json.dumps(view) and "key-1" not in json.dumps(view)


@pytest.mark.parametrize("platform", list(ROBOTS))
def test_a_webhook_of_another_shape_or_host_is_refused(client, admin_headers, webhook, platform):
    credentials, settings = ROBOTS[platform](webhook)
    credentials["webhook"] = "https://evil.example.com/collect?access_token=x"
    answer = client.http.post("/integrations", headers=admin_headers, body=json.dumps(
        {"platform": platform, "name": "x", "credentials": credentials, "settings": settings}))
    assert answer.status_code == 400 and "credentials.webhook" in json.loads(answer.body)["message"]


@pytest.mark.parametrize("platform", list(ROBOTS))
def test_the_first_message_says_everything_and_rings_the_targets_then_changes_follow_up(
        client, admin_headers, webhook, platform):
    robot = create_robot(client, admin_headers, platform, webhook)
    member("alice", "Alice", "+86 138-0000-0001")
    people.bind("alice", "int_app", "ou_alice", "Alice", clock.iso())
    consumers.handle_notification(json.dumps(notification(
        "inc-r", members=["alice"], chats=[{"integration_id": robot["id"], "chat_id": "robot"}])))
    run_all()
    first = json.dumps(Webhook.received[0][1], ensure_ascii=False)
    assert "CPU > 95% on db-1" in first and "/incidents/inc-r" in first
    if platform != "wecom-robot":
        assert "告警" in first  # the keyword
    if platform == "dingtalk-robot":
        assert Webhook.received[0][1]["at"]["atMobiles"] == ["13800000001"] and "@13800000001" in first
    if platform == "wecom-robot":
        assert Webhook.received[1][1]["text"]["mentioned_mobile_list"] == ["13800000001"]
    sent = len(Webhook.received)
    incidents.act("inc-r", Action.ack, {"id": "alice", "name": "Alice"}, "api")
    consumers.handle_notification(json.dumps(notification(
        "inc-r", members=["alice"], chats=[{"integration_id": robot["id"], "chat_id": "robot"}],
        description="now with more detail")))
    run_all()
    follow_up = json.dumps(Webhook.received[sent:], ensure_ascii=False)
    assert len(Webhook.received) == sent + 1 and "Acknowledged" in follow_up and "Alice 认领于" in follow_up
    [record] = deliveries.of("inc-r")
    assert record["state"] == "sent"


def test_dingtalk_signs_as_documented(client, admin_headers, webhook, monkeypatch):
    robot = create_robot(client, admin_headers, "dingtalk-robot", webhook)
    monkeypatch.setattr(clock, "now", lambda: 1_700_000_000.0)
    consumers.handle_notification(json.dumps(notification(
        "inc-s", members=[], chats=[{"integration_id": robot["id"], "chat_id": "robot"}])))
    run_all()
    query = parse_qs(urlsplit(Webhook.received[0][0]).query)
    assert query["timestamp"] == ["1700000000000"]
    assert query["sign"] == ["hMcp9tIC+t4YETtvFK+lpdjLr1E/ovXPdM+YDW8K4XM="]  # parse_qs decodes the %2B…


@pytest.mark.parametrize(("answer", "error", "fragment"), [
    ({"errcode": 310000, "errmsg": "keywords not in content"}, Permanent, "关键词"),
    ({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}, RateLimited, "too fast"),
])
def test_dingtalk_refusals_say_what_to_fix_or_when_to_retry(client, admin_headers, webhook, answer, error, fragment):
    from chalicelib.platforms import adapter_for
    from chalicelib.store import integrations as integration_store
    robot = create_robot(client, admin_headers, "dingtalk-robot", webhook)
    Webhook.answers = [answer]
    adapter = adapter_for(integration_store.get(robot["id"]))
    with pytest.raises(error) as refused:
        adapter.post({"msgtype": "text", "text": {"content": "告警"}})
    assert fragment in refused.value.message
    if error is RateLimited:
        assert refused.value.retry_after == 600


def test_a_critical_card_the_app_cannot_send_goes_by_its_fallback_robot(client, admin_headers, webhook, fake_platform):
    from chalicelib.common.errors import QuotaExhausted
    from chalicelib.store import integrations as integration_store
    robot = create_robot(client, admin_headers, "dingtalk-robot", webhook)
    app = integration_store.get("int_fake")
    integration_store.replace({**app, "settings": {"fallback_robot": robot["id"]}})
    member("alice", "Alice", "13800000001")
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    fake_platform.fail_with = [QuotaExhausted("fake", "90020", "monthly quota spent")]
    consumers.handle_notification(json.dumps(notification("inc-f", members=["alice"])))
    run_all()
    records = {r["integration_id"]: r for r in deliveries.of("inc-f")}
    assert records["int_fake"]["state"] == "parked" and "fallback robot" in records["int_fake"]["error"]
    assert records[robot["id"]]["state"] == "sent" and records[robot["id"]]["via"] == "fallback"
    [(_, message)] = Webhook.received
    assert message["at"]["atMobiles"] == ["13800000001"] and "95% on db-1" in message["markdown"]["text"]


def test_a_warning_waits_for_the_month_as_before(client, admin_headers, webhook, fake_platform):
    from chalicelib.common.errors import QuotaExhausted
    from chalicelib.store import integrations as integration_store
    robot = create_robot(client, admin_headers, "dingtalk-robot", webhook)
    integration_store.replace({**integration_store.get("int_fake"), "settings": {"fallback_robot": robot["id"]}})
    member("alice", "Alice", "13800000001")
    people.bind("alice", "int_fake", "u-alice", "Alice", clock.iso())
    fake_platform.fail_with = [QuotaExhausted("fake", "90020", "monthly quota spent")]
    consumers.handle_notification(json.dumps(notification("inc-w", members=["alice"], severity="warning")))
    run_all()
    assert Webhook.received == [] and [r["state"] for r in deliveries.of("inc-w")] == ["parked"]


def test_fallback_robot_must_name_a_robot(client, admin_headers, fake_platform):
    answer = client.http.patch("/integrations/int_fake", headers=admin_headers,
                               body=json.dumps({"settings": {"fallback_robot": "int_fake"}}))
    assert answer.status_code == 400 and "fallback_robot" in json.loads(answer.body)["message"]


def test_a_burst_beyond_the_robot_limit_is_one_message_never_cards_minutes_late(client, admin_headers, webhook,
                                                                                monkeypatch):
    from chalicelib.common import queues
    from chalicelib.core.models import DeliveryJob
    from chalicelib.delivery import pipeline
    robot = create_robot(client, admin_headers, "dingtalk-robot", webhook)
    chat = [{"integration_id": robot["id"], "chat_id": "robot"}]
    undelayed = queues.deliver
    monkeypatch.setattr(queues, "deliver", lambda jobs, delay=0: undelayed(jobs))  # moto would hold them
    for n in range(25):
        consumers.handle_notification(json.dumps(notification(f"inc-b{n}", members=[], chats=chat)))
    drain("notifications")
    jobs = [DeliveryJob.model_validate(j["body"]) for j in drain("deliveries")]
    outcomes = []
    for job in jobs:  # all at once, as a storm arrives
        try:
            outcomes.append(pipeline.deliver(job))
        except Exception as exc:  # noqa: BLE001 - a paced job would be retried later: the storm must not have any
            outcomes.append(type(exc).__name__)
    assert outcomes.count("sent") == 20 and outcomes.count("digested") == 5
    [digest] = drain("deliveries")
    clock.advance(61)
    assert pipeline.deliver(DeliveryJob.model_validate(digest["body"])) == "sent"
    text = Webhook.received[-1][1]["markdown"]["text"]
    assert "5" in Webhook.received[-1][1]["markdown"]["title"] + text and "告警" in text
    assert len(Webhook.received) == 21


def test_app_group_cards_at_the_targeted_members_linked_on_that_app():
    from chalicelib.core import cards
    from chalicelib.core.cards import Mention
    from chalicelib.platforms import build
    from chalicelib.platforms.feishu.cards import render
    incident = {"id": "inc-m", "title": "t", "severity": "critical", "status": "triggered"}
    mentions = [Mention(name="Alice", mobile="13800000001", bound={"int_fs": "ou_alice", "int_dt": "alice01"}),
                Mention(name="Bob", bound={"int_other": "ou_bob"})]
    card = cards.build(incident, "int_fs", {}).model_copy(update={"mentions": mentions})
    feishu = build("feishu", "int_fs", {"app_id": "cli_x", "app_secret": "s", "verification_token": "v"}, {})
    rendered = json.dumps(render(feishu.offered(card)))
    assert "<at id=ou_alice></at>" in rendered and "ou_bob" not in rendered
    dingtalk = build("dingtalk", "int_dt", {"corp_id": "c", "agent_id": "1", "client_id": "k", "client_secret": "s",
                                            "aes_key": "a" * 43, "token": "t"}, {"card_template_id": "tpl"})
    assert dingtalk._at(card) == {"atUserIds": {"alice01": "Alice"}}


def test_a_robot_message_links_to_the_incident_page_read_only_for_that_incident_alone(client, admin_headers, webhook):
    robot = create_robot(client, admin_headers, "wecom-robot", webhook)
    chat = [{"integration_id": robot["id"], "chat_id": "robot"}]
    for incident_id in ("inc-v1", "inc-v2"):
        consumers.handle_notification(json.dumps(notification(incident_id, members=[], chats=chat)))
    run_all()
    content = Webhook.received[0][1]["markdown"]["content"]
    link = content.split("[查看详情 Details](")[1].split(")")[0]
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    page = client.http.get(path)
    assert page.status_code == 200 and "CPU" in page.body.decode() and "群机器人的链接只能查看" in page.body.decode()
    other = path.replace("inc-v1", "inc-v2")  # the same signature for another incident
    assert client.http.get(other).status_code == 302  # sign-in first, never the page
    assert client.http.get(path.split("?")[0]).status_code == 302


def test_a_robots_test_card_goes_to_its_group_and_a_refusal_carries_the_setup_advice(client, admin_headers, webhook):
    robot = create_robot(client, admin_headers, "dingtalk-robot", webhook)

    def test_card(body: dict) -> tuple[int, dict]:
        answer = client.http.post(f"/integrations/{robot['id']}/test", headers=admin_headers, body=json.dumps(body))
        return answer.status_code, json.loads(answer.body)

    status, verdict = test_card({"chat_id": "robot"})
    assert status == 200 and verdict["ok"] is True, verdict
    assert "测试卡片 Test card" in Webhook.received[-1][1]["markdown"]["text"]
    Webhook.answers = [{"errcode": 310000, "errmsg": "keywords not in content"}]
    status, verdict = test_card({"chat_id": "robot"})
    assert status == 200 and (verdict["ok"], verdict["code"]) == (False, "310000") and "关键词" in verdict["hint"]
    member("alice", "Alice", "13800000001")
    assert test_card({"member": "alice"})[0] == 422  # a robot reaches its group only
