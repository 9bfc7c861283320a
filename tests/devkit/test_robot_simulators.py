"""The custom group robots of the three simulators, over HTTP as an adapter meets them: the console step
answers the webhook URL (and secret), the webhook checks signature, keyword, IP, size and rate as the
platform does and answers with its codes (tests/fixtures/robots/*/answers.json), and what got through is in
the group as the group sees it, with who was @'d."""
from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import quote_plus

import pytest
import requests

from devkit.simulators import ROBOTS, SIMULATORS, entry_for
from devkit.simulators.dingtalk import robot as dingtalk_robot
from devkit.simulators.dingtalk.simulator import DingTalkSimulator
from devkit.simulators.feishu import robot as feishu_robot
from devkit.simulators.feishu.simulator import FeishuSimulator
from devkit.simulators.wecom.simulator import WeComSimulator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "robots"


def fixture(platform: str, name: str) -> dict:
    return json.loads((FIXTURES / platform / f"{name}.json").read_text(encoding="utf-8"))


class Clock:
    def __init__(self) -> None:
        self.t = float(int(time.time()) // 60 * 60)  # the start of a minute: fixed windows start clean

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


def add_robot(sim, **form) -> dict:
    answer = requests.post(sim.mounted("/_sim/console/robots"), json=form, timeout=10).json()
    assert answer["ok"], answer
    return answer


def messages(sim, webhook: str) -> list[dict]:
    state = requests.get(sim.mounted("/_sim/state"), timeout=10).json()
    return next(r for r in state["robots"] if r["webhook"] == webhook)["messages"]


# ---- DingTalk ------------------------------------------------------------------------------------------

def dingtalk_url(answer: dict, clock: Clock, offset_ms: int = 0, secret: str | None = None) -> str:
    ts = str(int(clock() * 1000) + offset_ms)
    return f"{answer['webhook']}&timestamp={ts}&sign={quote_plus(dingtalk_robot.sign(ts, secret or answer['secret']))}"


def test_dingtalk_console_adds_a_robot_with_its_webhook_and_sec_secret(clock):
    sim = DingTalkSimulator(now=clock)
    with sim.serving():
        answer = add_robot(sim, name="值班机器人", sign=True, keywords=["告警"], ips=["127.0.0.1"])
        assert answer["webhook"].startswith(sim.mounted("/oapi/robot/send?access_token="))
        assert answer["secret"].startswith("SEC")
        refused = requests.post(sim.mounted("/_sim/console/robots"), json={"name": "x"}, timeout=10)
        assert refused.status_code == 400  # DingTalk wants at least one security setting


def test_dingtalk_signed_messages_of_every_type_reach_the_group_with_their_mentions(clock):
    sim = DingTalkSimulator(now=clock)
    with sim.serving():
        answer = add_robot(sim, sign=True)
        for body in fixture("dingtalk", "requests").values():
            reply = requests.post(dingtalk_url(answer, clock), json=body, timeout=10).json()
            assert reply == fixture("dingtalk", "answers")["ok"]
        shown = messages(sim, answer["webhook"])
        assert [m["msgtype"] for m in shown] == ["text", "markdown", "link", "actionCard", "actionCard", "feedCard"]
        assert shown[0]["mentions"] == [{"by": "mobile", "id": "13800000001", "name": "张伟"},
                                        {"by": "userId", "id": "lina", "name": "李娜"}]
        assert shown[4]["buttons"][1] == {"title": "Grafana", "url": "https://grafana.example.com/d/x"}


@pytest.mark.parametrize("case", ["sign_not_match", "invalid_timestamp", "unsigned"])
def test_dingtalk_refuses_a_wrong_expired_or_missing_signature_with_310000(clock, case):
    sim = DingTalkSimulator(now=clock)
    with sim.serving():
        answer = add_robot(sim, sign=True)
        url = {"sign_not_match": dingtalk_url(answer, clock, secret="SECwrong"),
               "invalid_timestamp": dingtalk_url(answer, clock, offset_ms=-3601 * 1000),
               "unsigned": answer["webhook"]}[case]
        reply = requests.post(url, json=fixture("dingtalk", "requests")["text"], timeout=10).json()
        expected = fixture("dingtalk", "answers")["invalid_timestamp" if case != "sign_not_match" else case]
        assert reply == expected and messages(sim, answer["webhook"]) == []
        assert requests.post(dingtalk_url(answer, clock, offset_ms=-3599 * 1000),  # within the hour: fine
                             json=fixture("dingtalk", "requests")["text"], timeout=10).json()["errcode"] == 0


def test_dingtalk_keyword_and_ip_allow_list(clock):
    sim = DingTalkSimulator(now=clock)
    with sim.serving():
        keyword = add_robot(sim, keywords=["值班"])
        body = {"msgtype": "markdown", "markdown": {"title": "告警", "text": "### 值班群告警"}}
        assert requests.post(keyword["webhook"], json=body, timeout=10).json()["errcode"] == 0
        body["markdown"]["text"] = "### 告警"
        assert requests.post(keyword["webhook"], json=body, timeout=10).json() == \
            fixture("dingtalk", "answers")["keyword_missing"]
        elsewhere = add_robot(sim, ips=["10.0.0.0/8"])
        assert requests.post(elsewhere["webhook"], json=fixture("dingtalk", "requests")["text"],
                             timeout=10).json() == fixture("dingtalk", "answers")["ip_not_allowed"]
        here = add_robot(sim, ips=["127.0.0.*"])
        assert requests.post(here["webhook"], json=fixture("dingtalk", "requests")["text"],
                             timeout=10).json()["errcode"] == 0


def test_dingtalk_over_20_a_minute_blocks_the_robot_for_ten_minutes(clock):
    sim = DingTalkSimulator(now=clock)
    with sim.serving():
        answer = add_robot(sim, keywords=["告警"])
        body = fixture("dingtalk", "requests")["text"]
        send = lambda: requests.post(answer["webhook"], json=body, timeout=10).json()  # noqa: E731
        assert all(send()["errcode"] == 0 for _ in range(20))
        assert send() == fixture("dingtalk", "answers")["too_fast"]
        clock.t += 120  # a new minute, but the block lasts ten
        assert send()["errcode"] == 130101
        clock.t += 481  # 601 s after the 21st
        assert send()["errcode"] == 0
        assert len(messages(sim, answer["webhook"])) == 21


def test_dingtalk_too_large_unknown_token_malformed_and_bad_msgtype(clock):
    sim = DingTalkSimulator(now=clock)
    answers = fixture("dingtalk", "answers")
    with sim.serving():
        answer = add_robot(sim, keywords=["告警"])
        big = {"msgtype": "text", "text": {"content": "告警" + "x" * 20000}}
        assert requests.post(answer["webhook"], json=big, timeout=10).json() == answers["too_long"]
        unknown = answer["webhook"].split("access_token=")[0] + "access_token=" + "0" * 64
        assert requests.post(unknown, json=big, timeout=10).json() == answers["unknown_token"]
        assert requests.post(sim.mounted("/oapi/robot/send"), json={}, timeout=10).json() == answers["missing_token"]
        assert requests.post(answer["webhook"], data=b"{not json", timeout=10).json()["errcode"] == 40035
        bad = {"msgtype": "image", "image": {"content": "告警"}}
        assert requests.post(answer["webhook"], json=bad, timeout=10).json() == answers["bad_msgtype"]


# ---- Feishu --------------------------------------------------------------------------------------------

def feishu_body(body: dict, secret: str, clock: Clock, offset: int = 0) -> dict:
    ts = str(int(clock()) + offset)
    return {"timestamp": ts, "sign": feishu_robot.sign(ts, secret), **body}


def test_feishu_signed_text_post_and_card_reach_the_group_with_their_mentions(clock):
    sim = FeishuSimulator(now=clock)
    with sim.serving():
        answer = add_robot(sim, sign=True)
        assert answer["webhook"].startswith(sim.mounted("/open-apis/bot/v2/hook/")) and answer["secret"]
        open_id = next(iter(sim.directory.users.values())).open_id
        for body in fixture("feishu", "requests").values():
            if "msg_type" in body and "timestamp" not in body:
                signed = feishu_body(json.loads(json.dumps(body).replace("ou_xxx", open_id)), answer["secret"], clock)
                assert requests.post(answer["webhook"], json=signed, timeout=10).json() == \
                    fixture("feishu", "answers")["ok"]
        shown = messages(sim, answer["webhook"])
        assert [m["msgtype"] for m in shown] == ["text", "post", "interactive"]
        assert all(m["mentions"] == [{"by": "open_id", "id": open_id, "name": "陈静"}] for m in shown)
        assert shown[0]["text"].startswith("@陈静") and "@陈静" in shown[2]["text"]
        assert shown[2]["buttons"] == [{"title": "查看事件 Open incident",
                                        "url": "https://duty.example.com/incidents/inc-1"}]


@pytest.mark.parametrize("offset,secret", [(0, "wrong"), (-3601, None), (3601, None)])
def test_feishu_refuses_a_wrong_or_stale_signature_with_19021(clock, offset, secret):
    sim = FeishuSimulator(now=clock)
    with sim.serving():
        answer = add_robot(sim, sign=True)
        body = feishu_body({"msg_type": "text", "content": {"text": "告警"}}, secret or answer["secret"], clock, offset)
        reply = requests.post(answer["webhook"], json=body, timeout=10).json()
        assert reply == fixture("feishu", "answers")["sign_fail"]


def test_feishu_keyword_ip_size_hook_and_body_errors(clock):
    sim = FeishuSimulator(now=clock)
    answers = fixture("feishu", "answers")
    with sim.serving():
        keyword = add_robot(sim, keywords=["应用报警"])
        post = {"msg_type": "post", "content": {"post": {"zh_cn": {"content": [[
            {"tag": "a", "text": "请查看", "href": "https://x/应用报警"}]]}}}}
        assert requests.post(keyword["webhook"], json=post, timeout=10).json() == answers["keyword_missing"]
        post["content"]["post"]["zh_cn"]["title"] = "应用报警"
        assert requests.post(keyword["webhook"], json=post, timeout=10).json() == answers["ok"]
        fenced = add_robot(sim, ips=["123.1.1.1/24"])
        text = {"msg_type": "text", "content": {"text": "x"}}
        assert requests.post(fenced["webhook"], json=text, timeout=10).json() == answers["ip_not_allowed"]
        open_robot = add_robot(sim)
        big = {"msg_type": "text", "content": {"text": "x" * 20 * 1024}}
        assert requests.post(open_robot["webhook"], json=big, timeout=10).json() == answers["bad_request"]
        assert requests.post(open_robot["webhook"], data=b"{oops", timeout=10).json() == answers["bad_request"]
        unknown = open_robot["webhook"].rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
        assert requests.post(unknown, json=text, timeout=10).json() == answers["unknown_hook"]


def test_feishu_allows_5_a_second_and_100_a_minute(clock):
    sim = FeishuSimulator(now=clock)
    with sim.serving():
        answer = add_robot(sim)
        text = {"msg_type": "text", "content": {"text": "告警"}}
        send = lambda: requests.post(answer["webhook"], json=text, timeout=10).json()  # noqa: E731
        assert [send()["code"] for _ in range(6)] == [0] * 5 + [11232]
        assert send() == fixture("feishu", "answers")["frequency_limited"]
        clock.t += 60  # a new minute: 5 in each of 20 seconds is 100, and the 101st is refused
        codes = []
        for _second in range(20):
            codes += [send()["code"] for _ in range(5)]
            clock.t += 1
        assert codes == [0] * 100 and send()["code"] == 11232


# ---- WeCom ---------------------------------------------------------------------------------------------

def test_wecom_console_gives_a_key_url_and_messages_show_with_their_mentions(clock):
    sim = WeComSimulator(now=clock)
    with sim.serving():
        answer = add_robot(sim, group="数据库告警群")
        assert answer["webhook"].startswith(sim.mounted("/cgi-bin/webhook/send?key=")) and answer["secret"] is None
        for body in fixture("wecom", "requests").values():
            assert requests.post(answer["webhook"], json=body, timeout=10).json() == fixture("wecom", "answers")["ok"]
        text, markdown, card = messages(sim, answer["webhook"])
        assert text["mentions"] == [{"by": "mobile", "id": "13700000001", "name": "张伟"}] and text["atAll"]
        assert markdown["mentions"] == [{"by": "userId", "id": "ZhangWei", "name": "张伟"}]
        assert "@张伟" in markdown["text"]
        assert card["title"] == "【告警】数据库主库连接数打满"
        assert {"title": "查看事件 Open incident", "url": "https://duty.example.com/incidents/inc-1"} in card["buttons"]


def test_wecom_refusals(clock):
    sim = WeComSimulator(now=clock)
    answers = fixture("wecom", "answers")
    with sim.serving():
        answer = add_robot(sim)

        def code_of(body, url=answer["webhook"]):
            reply = requests.post(url, json=body, timeout=10).json()
            return reply["errcode"], reply["errmsg"].split(", hint:")[0]

        def expected(name):
            return answers[name]["errcode"], answers[name]["errmsg"].split(", hint:")[0]

        assert code_of({"msgtype": "markdown", "markdown": {"content": "字" * 1366}}) == expected("markdown_too_long")
        assert code_of({"msgtype": "text", "text": {"content": "x" * 2049}}) == expected("text_too_long")
        assert code_of({"msgtype": "voice", "voice": {}}) == expected("bad_msgtype")
        assert code_of({}, answer["webhook"].split("key=")[0] + "key=nope") == expected("unknown_key")
        ok = {"msgtype": "text", "text": {"content": "x"}}
        assert [code_of(ok)[0] for _ in range(20)] == [0] * 20
        assert code_of(ok) == expected("too_fast")
        clock.t += 60
        assert code_of(ok)[0] == 0


# ---- the registry --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ROBOTS))
def test_each_robot_platform_has_a_simulator_and_the_integration_body_an_admin_enters(name):
    entry = entry_for(name)
    platform = name.removesuffix("-robot")
    assert entry.simulator is SIMULATORS[platform].simulator and name not in SIMULATORS
    sim = entry.simulator()
    with sim.serving():
        state = requests.get(sim.mounted("/_sim/state"), timeout=10).json()
        body = entry.integration(state, sim.base_url)
        assert body["platform"] == name and body["credentials"]["webhook"] == state["robots"][0]["webhook"]
        assert body["credentials"]["webhook"].startswith(sim.mounted())
        assert ("secret" in body["credentials"]) == (platform != "wecom")
        assert entry.save_urls(None, {}) == {}
