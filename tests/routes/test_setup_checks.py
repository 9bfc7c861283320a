"""Setup checked at setup: what each platform lets us check is refused at save (nothing saved), and
``POST /integrations/{id}/test`` sends a test card and answers with the platform's verdict."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from chalicelib.delivery import pacing
from chalicelib.platforms import adapter_for
from chalicelib.store import integrations as integration_store
from chalicelib.store import ledger, people
from devkit.simulators.dingtalk.simulator import DingTalkSimulator
from devkit.simulators.wecom.simulator import WeComSimulator
from tests.routes.conftest import serving


@pytest.fixture(scope="module")
def dingtalk() -> Iterator[DingTalkSimulator]:
    yield from serving(DingTalkSimulator(qps_limit=1000))


@pytest.fixture(scope="module")
def wecom() -> Iterator[WeComSimulator]:
    yield from serving(WeComSimulator())


def dingtalk_body(sim: DingTalkSimulator, credentials: dict | None = None, settings: dict | None = None) -> dict:
    org = sim.org
    return {"platform": "dingtalk", "name": "钉钉值班",
            "credentials": {"corp_id": org.corp_id, "agent_id": org.agent_id, "client_id": org.client_id,
                            "client_secret": org.client_secret, "aes_key": org.aes_key, "token": org.token,
                            **(credentials or {})},
            "settings": {"card_template_id": org.card_template_id, "api_base": sim.api_base,
                         "oapi_base": sim.oapi_base, **(settings or {})}}


def wecom_body(sim: WeComSimulator, **credentials: str) -> dict:
    corp = sim.corp
    return {"platform": "wecom", "name": "企微值班",
            "credentials": {"corp_id": corp.corp_id, "agent_id": corp.agent_id, "secret": corp.secret,
                            "token": corp.token, "encoding_aes_key": corp.encoding_aes_key, **credentials},
            "settings": {"api_base": sim.api_base, "oauth_base": sim.oauth_base}}


def saved(admin_call, body: dict) -> str:
    status, answer = admin_call("POST", "/integrations", body)
    assert status == 201, answer
    return answer["id"]


def bound_member(admin_call, integration_id: str, user_id: str, member_id: str = "m-alice") -> str:
    assert admin_call("POST", "/members", {"id": member_id, "name": "Alice"})[0] == 201
    people.bind(member_id, integration_id, user_id, "Alice", "2026-12-01T00:00:00Z")
    return member_id


def nothing_saved(platform: str) -> bool:
    return not [item for item in integration_store.all() if item["platform"] == platform]


# -- refused at save ------------------------------------------------------------------------------

def test_a_wrong_dingtalk_corp_id_is_refused_at_save_naming_the_field(admin_call, dingtalk) -> None:
    status, answer = admin_call("POST", "/integrations", dingtalk_body(dingtalk, {"corp_id": "dingwrongcorp0000"}))
    assert status == 400, answer
    assert answer["message"].startswith("credentials.corp_id: DingTalk does not run this app in organisation "
                                        "'dingwrongcorp0000' (unknownError)")
    assert "CorpId" in answer["message"] and nothing_saved("dingtalk")


def test_a_missing_dingtalk_card_template_is_refused_at_save(admin_call, dingtalk) -> None:
    status, answer = admin_call("POST", "/integrations", dingtalk_body(dingtalk, settings={"card_template_id": ""}))
    assert status == 400 and answer["message"].startswith("settings.card_template_id: "), answer
    assert nothing_saved("dingtalk")


def test_a_patch_to_a_wrong_corp_id_is_refused_and_the_integration_kept(admin_call, dingtalk) -> None:
    integration_id = saved(admin_call, dingtalk_body(dingtalk))
    status, answer = admin_call("PATCH", f"/integrations/{integration_id}",
                                {"credentials": {"corp_id": "dingother"}})
    assert status == 400 and answer["message"].startswith("credentials.corp_id: "), answer
    assert admin_call("GET", f"/integrations/{integration_id}")[1]["credentials"]["corp_id"].endswith(
        dingtalk.org.corp_id[-4:])


def test_a_wrong_wecom_agent_id_is_refused_at_save_naming_the_field(admin_call, wecom) -> None:
    status, answer = admin_call("POST", "/integrations", wecom_body(wecom, agent_id="1000099"))
    assert status == 400, answer
    assert answer["message"].startswith("credentials.agent_id: WeCom has no app 1000099 for this Secret (40056)")
    assert nothing_saved("wecom")


def test_the_right_wecom_agent_id_is_saved(admin_call, wecom) -> None:
    assert saved(admin_call, wecom_body(wecom))


def test_wecom_ip_allow_list_does_not_block_the_save_that_gives_the_callback_url(admin_call, wecom) -> None:
    """60020 needs the egress IPs trusted, which WeCom allows only once the callback URL (this save's answer)
    is set: the save goes on and the test card shows the refusal."""
    wecom.corp.trusted_ips = ["198.51.100.1"]
    try:
        integration_id = saved(admin_call, wecom_body(wecom))
        member = bound_member(admin_call, integration_id, "ZhangWei")
        status, verdict = admin_call("POST", f"/integrations/{integration_id}/test", {"member": member})
    finally:
        wecom.corp.trusted_ips = []
    assert status == 200 and verdict["ok"] is False and verdict["code"] == "60020"
    assert "企业可信IP" in verdict["hint"]


# -- the test card --------------------------------------------------------------------------------

def test_a_dingtalk_test_card_reaches_the_member_without_buttons(admin_call, dingtalk) -> None:
    integration_id = saved(admin_call, dingtalk_body(dingtalk))
    member = bound_member(admin_call, integration_id, "lina")
    status, verdict = admin_call("POST", f"/integrations/{integration_id}/test", {"member": member})
    assert status == 200, verdict
    assert verdict == {"platform": "dingtalk", "to": {"kind": "user", "target": "lina"}, "ok": True, "code": None,
                       "message": "平台已接收测试卡片 (the platform accepted the test card)", "hint": ""}
    card = dingtalk.state()["cards"]["IM_ROBOT.lina"][-1]["cardParamMap"]
    assert card["title"].startswith("测试卡片 Test card") and card["status_text"] == "测试 Test"
    assert {card[f"can_{action}"] for action in ("ack", "resolve", "silence", "unsilence", "war_room")} == {"false"}
    assert ledger.get(integration_id, ledger.month())["calls"] >= 1  # counted like any card


def test_an_unknown_dingtalk_card_template_shows_in_the_test_card_verdict(admin_call, dingtalk) -> None:
    integration_id = saved(admin_call, dingtalk_body(dingtalk, settings={"card_template_id": "nosuch.schema"}))
    member = bound_member(admin_call, integration_id, "lina")
    status, verdict = admin_call("POST", f"/integrations/{integration_id}/test", {"member": member})
    assert status == 200 and verdict["ok"] is False, verdict
    assert verdict["code"] == "param.templateNotExist"
    assert verdict["hint"].startswith("卡片模板不存在") and "settings.card_template_id" in verdict["hint"]


def test_a_wecom_test_card_to_a_member_outside_the_app_answers_the_platform_code(admin_call, wecom) -> None:
    integration_id = saved(admin_call, wecom_body(wecom))
    member = bound_member(admin_call, integration_id, "Nobody")
    status, verdict = admin_call("POST", f"/integrations/{integration_id}/test", {"member": member})
    assert status == 200 and verdict["ok"] is False and verdict["platform"] == "wecom", verdict
    assert verdict["code"] == "81013" and verdict["message"].startswith("user & party & tag all invalid")
    assert verdict["hint"].startswith("成员不在应用可见范围")


def test_a_wecom_test_card_is_sent_as_a_notice(admin_call, wecom) -> None:
    integration_id = saved(admin_call, wecom_body(wecom))
    member = bound_member(admin_call, integration_id, "ZhangWei")
    status, verdict = admin_call("POST", f"/integrations/{integration_id}/test", {"member": member})
    assert status == 200 and verdict["ok"] is True, verdict
    sent = wecom.state()["spaces"]["user:ZhangWei"][-1]
    assert sent["content"]["card_type"] == "text_notice" and "测试卡片" in str(sent["content"])


def test_a_spent_budget_keeps_the_test_card_from_going_out(admin_call, dingtalk) -> None:
    integration_id = saved(admin_call, dingtalk_body(dingtalk, settings={"monthly_calls": 1}))
    ledger.count(integration_id, "POST /v1.0/card/instances/createAndDeliver")
    member = bound_member(admin_call, integration_id, "lina")
    before = len(dingtalk.state()["cards"].get("IM_ROBOT.lina", []))
    status, verdict = admin_call("POST", f"/integrations/{integration_id}/test", {"member": member})
    assert status == 200 and verdict["ok"] is False and verdict["code"] == "ledger", verdict
    assert "monthly_calls" in verdict["hint"]
    assert len(dingtalk.state()["cards"].get("IM_ROBOT.lina", [])) == before


def test_a_full_pacing_window_answers_try_later_and_hands_the_slot_back(admin_call, wecom) -> None:
    integration_id = saved(admin_call, wecom_body(wecom))
    member = bound_member(admin_call, integration_id, "LiNa")
    windows = adapter_for(integration_store.get(integration_id)).windows("send", "user", "LiNa")
    booked = [pacing.reserve(windows) for _ in range(30)]  # WeCom's 30 a minute to one member, all taken
    status, verdict = admin_call("POST", f"/integrations/{integration_id}/test", {"member": member})
    assert status == 200 and verdict["ok"] is False and verdict["code"] == "paced", verdict
    assert verdict["retry_after"] > 1 and "retry_after" in verdict["hint"]
    assert not wecom.state()["spaces"].get("user:LiNa")
    minute = pacing._read(windows[0])
    assert sum(minute.slots.values()) == len(booked)  # the test card's slot went back


@pytest.mark.parametrize(("body", "status"), [({}, 400), ({"member": "m-alice", "chat_id": "c1"}, 400),
                                               ({"member": "m-nobody"}, 404), ({"member": "m-alice"}, 409)])
def test_the_test_endpoint_refuses_a_bad_target(admin_call, dingtalk, body: dict[str, Any], status: int) -> None:
    integration_id = saved(admin_call, dingtalk_body(dingtalk))
    assert admin_call("POST", "/members", {"id": "m-alice", "name": "Alice"})[0] == 201  # bound nowhere
    answer = admin_call("POST", f"/integrations/{integration_id}/test", body)
    assert answer[0] == status, answer
    if status == 409:
        assert "not bound on integration" in answer[1]["message"]


def test_the_test_endpoint_of_an_unknown_integration_is_404(admin_call) -> None:
    assert admin_call("POST", "/integrations/int_nosuch/test", {"chat_id": "c1"})[0] == 404
