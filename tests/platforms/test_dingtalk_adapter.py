"""The DingTalk adapter against the DingTalk simulator: tokens, cards, error mapping, people."""
from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any, Callable, Iterator

import pytest
import requests
from pydantic import ValidationError

from chalicelib.common import config
from chalicelib.common.errors import (
    CallbackRejected,
    Permanent,
    PlatformError,
    PlatformUnavailable,
    QuotaExhausted,
    RateLimited,
    Retryable,
    TargetGone,
    TokenInvalid,
)
from chalicelib.core import cards
from chalicelib.core.callback import ChatEvent, Endpoint, InboundRequest
from chalicelib.core.cards import Card
from chalicelib.platforms.dingtalk import api as dingtalk_api
from chalicelib.platforms.dingtalk.adapter import Credentials, DingTalk, Settings
from chalicelib.platforms.dingtalk.cards import MAX_VALUE_BYTES, card_params
from devkit.simulators.dingtalk.simulator import DingTalkSimulator

TOKEN_API = "/v1.0/oauth2/accessToken"
CREATE_API = "/v1.0/card/instances/createAndDeliver"
BY_MOBILE_API = "/topapi/v2/user/getbymobile"


class SimClock:
    """The simulator's clock: real time, moved one second on per test so QPS windows never overlap."""

    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def sim_clock() -> SimClock:
    return SimClock()


@pytest.fixture(scope="module")
def sim(sim_clock: SimClock) -> Iterator[DingTalkSimulator]:
    simulator = DingTalkSimulator(now=sim_clock)
    server, _ = simulator.start()
    groups = simulator.state()["groups"]
    answer = requests.post(f"{simulator.base_url}/dingtalk/_sim/groups/{groups[0]['openConversationId']}"
                           "/install-cool-app", json={}, timeout=5)
    assert answer.json()["ok"] is True
    yield simulator
    server.shutdown()
    server.server_close()


@pytest.fixture
def installed_group(sim: DingTalkSimulator) -> str:
    return next(g["openConversationId"] for g in sim.state()["groups"] if g["coolAppInstalled"])


@pytest.fixture
def bare_group(sim: DingTalkSimulator) -> str:
    return next(g["openConversationId"] for g in sim.state()["groups"] if not g["coolAppInstalled"])


def _adapter(sim: DingTalkSimulator, **changes: str) -> DingTalk:
    org = sim.org
    credentials = {"corp_id": org.corp_id, "agent_id": org.agent_id, "client_id": org.client_id,
                   "client_secret": org.client_secret, "aes_key": org.aes_key, "token": org.token, **changes}
    return DingTalk(f"int_{uuid.uuid4().hex[:8]}", Credentials(**credentials),
                    Settings(api_base=sim.api_base, oapi_base=sim.oapi_base, card_template_id=org.card_template_id))


@pytest.fixture
def ding(aws_env, sim: DingTalkSimulator, sim_clock: SimClock) -> Iterator[DingTalk]:
    sim_clock.t += 1
    yield _adapter(sim)
    with sim.lock:
        sim.faults.pending.clear()


@pytest.fixture
def registered(ding: DingTalk) -> DingTalk:
    """The adapter after the integration was saved: card callback registered, apiSecret kept."""
    secret = ding.after_save(ding.urls("https://duty.example.com"))["card_api_secret"]
    ding.credentials = ding.credentials.model_copy(update={"card_api_secret": secret})
    return ding


def _card(status: str = "triggered", description: str = "disk full on /var", title: str = "CPU > 95% on db-1",
          labels: dict[str, str] | None = None) -> Card:
    incident = {"id": "inc-1", "title": title, "severity": "critical", "status": status,
                "description": description, "labels": labels or {"service": "db"}}
    return cards.build(incident, "int_test", {})


def _key() -> str:
    return f"inc-1.{uuid.uuid4().hex[:12]}"


def _cards_with(sim: DingTalkSimulator, out_track_id: str) -> list[dict[str, Any]]:
    return [c for space in sim.state()["cards"].values() for c in space if c["outTrackId"] == out_track_id]


def _delta(sim: DingTalkSimulator, api: str, action: Callable[[], Any]) -> tuple[Any, int]:
    before = sim.call_count(api)
    result = action()
    return result, sim.call_count(api) - before


# -- tokens and setup -----------------------------------------------------------------------------

def test_token_is_fetched_once_and_then_served_from_the_cache(ding: DingTalk, sim: DingTalkSimulator) -> None:
    (first, second), calls = _delta(sim, TOKEN_API, lambda: (ding.token(), ding.token()))
    assert first == second and first
    assert calls == 1


def test_check_credentials_with_a_wrong_secret_is_permanent_with_dingtalks_code(sim: DingTalkSimulator,
                                                                                 aws_env) -> None:
    with pytest.raises(Permanent) as caught:
        _adapter(sim, client_secret="not-the-secret").check_credentials()
    assert caught.value.platform_code == "invalidClientIdOrSecret"
    assert not caught.value.retryable


@pytest.mark.parametrize("aes_key", ["%" * 43, "a" * 42, "a" * 44, "键" * 43])
def test_an_aes_key_that_cannot_decrypt_is_refused_on_save(sim: DingTalkSimulator, aes_key: str) -> None:
    """Saved, it would make every event push fail to decrypt (a 500 before the fix)."""
    with pytest.raises(ValidationError):
        _adapter(sim, aes_key=aes_key)


def test_after_save_registers_the_card_callback_with_a_generated_secret(ding: DingTalk,
                                                                        sim: DingTalkSimulator) -> None:
    urls = ding.urls("https://duty.example.com")
    generated = ding.after_save(urls)
    callback = sim.state()["callbacks"][f"dutybridge_{ding.integration_id}"]
    assert callback == {"callbackUrl": urls["card_callback"], "apiSecret": generated["card_api_secret"]}
    assert len(generated["card_api_secret"]) >= 24


def test_after_save_again_keeps_the_stored_card_secret(registered: DingTalk, sim: DingTalkSimulator) -> None:
    again = registered.after_save(registered.urls("https://duty.example.com"))
    assert again["card_api_secret"] == registered.credentials.card_api_secret
    assert sim.state()["callbacks"][f"dutybridge_{registered.integration_id}"]["apiSecret"] == \
        registered.credentials.card_api_secret


# -- cards ----------------------------------------------------------------------------------------

def test_send_card_to_a_user_lands_in_their_robot_chat(registered: DingTalk, sim: DingTalkSimulator) -> None:
    key = _key()
    assert registered.send_card("user", "zhangwei", _card(), key) == {"out_track_id": key}
    shown = [c for c in sim.state()["cards"]["IM_ROBOT.zhangwei"] if c["outTrackId"] == key]
    assert len(shown) == 1 and shown[0]["cardParamMap"]["status"] == "triggered"
    assert shown[0]["callbackRouteKey"] == f"dutybridge_{registered.integration_id}"


def test_send_card_to_a_group_with_the_cool_app_lands_in_the_group(registered: DingTalk, sim: DingTalkSimulator,
                                                                    installed_group: str) -> None:
    key = _key()
    assert registered.send_card("chat", installed_group, _card(), key) == {"out_track_id": key}
    assert [c["outTrackId"] for c in sim.state()["cards"][f"IM_GROUP.{installed_group}"]].count(key) == 1


def test_send_card_to_a_group_without_the_cool_app_is_target_gone(registered: DingTalk, sim: DingTalkSimulator,
                                                                   bare_group: str) -> None:
    with pytest.raises(TargetGone) as caught:
        registered.send_card("chat", bare_group, _card(), _key())
    assert caught.value.platform_code == "deliver.failed"
    assert "cool app not installed" in caught.value.platform_message
    assert f"IM_GROUP.{bare_group}" not in sim.state()["cards"]


def test_sending_the_same_card_key_twice_updates_instead_of_creating(registered: DingTalk,
                                                                      sim: DingTalkSimulator) -> None:
    key = _key()
    registered.send_card("user", "lina", _card(), key)
    assert registered.send_card("user", "lina", _card(status="acknowledged"), key) == {"out_track_id": key}
    shown = _cards_with(sim, key)
    assert len(shown) == 1
    assert shown[0]["updateCount"] == 1 and shown[0]["cardParamMap"]["status"] == "acknowledged"


def test_update_card_changes_the_card_params(registered: DingTalk, sim: DingTalkSimulator) -> None:
    key = _key()
    ref = registered.send_card("user", "wangfang", _card(), key)
    assert registered.update_card(ref, _card(status="resolved")) == ref
    params = _cards_with(sim, key)[0]["cardParamMap"]
    assert params["status"] == "resolved"
    assert (params["can_ack"], params["can_resolve"], params["can_silence"]) == ("false", "false", "false")


def test_an_update_clears_the_last_clickers_private_notice(registered: DingTalk, sim: DingTalkSimulator) -> None:
    key = _key()
    ref = registered.send_card("user", "wangfang", _card(), key)
    sim.cards.cards[key].private["wangfang"] = {"notice": "未关联应用：请打开链接登录关联"}  # a click's answer
    registered.update_card({**ref, "noticed": "wangfang"}, _card(status="acknowledged"))
    shown = _cards_with(sim, key)[0]
    assert shown["privateData"]["wangfang"]["notice"] == "" and shown["cardParamMap"]["status"] == "acknowledged"


def test_every_card_param_is_a_string_of_at_most_1kb_even_for_huge_texts(registered: DingTalk,
                                                                          sim: DingTalkSimulator) -> None:
    key = _key()
    registered.send_card("user", "zhangwei", _card(description="磁" * 5000, title="t" * 2000), key)
    params = _cards_with(sim, key)[0]["cardParamMap"]
    assert params and all(isinstance(v, str) for v in params.values())
    assert max(len(v.encode("utf-8")) for v in params.values()) <= MAX_VALUE_BYTES
    assert params["description"].startswith("磁磁磁") and params["description"].endswith("…")


HOSTILE = ["[点这里 click](https://evil.example.com/login)", "![](https://evil.example.com/pixel.png)",
           "<font color=red>紧急</font> <a href='https://evil.example.com'>x</a>", "@all @所有人 <at id=all></at>",
           "# 大标题\n> quoted\n- item\n1. first\n2) second\n+ plus\n===\n---", "**bold** _it_ `code` ~~del~~",
           "&lt;font&gt; &amp; \\ trailing\\", "dtmd://dingtalkclient/sendMessage?content=x | a | b |",
           "<https://evil.example.com>", "[ref]: https://evil.example.com \"title\""]
MARKDOWN_CHARS = set("\\`*_[]()<>!#~|&@$")


def _unescaped(markdown: str) -> str:
    """What CommonMark shows for ``markdown`` if every backslash escape is honoured and nothing else applies."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def _bare_syntax(markdown: str) -> list[str]:
    """Markdown characters left unescaped, and line starts that would make a list or heading."""
    bare, escaped = [], False
    for char in markdown:
        if not escaped and char in MARKDOWN_CHARS - {"\\"}:
            bare.append(char)
        escaped = not escaped and char == "\\"
    bare += re.findall(r"^[ \t]*(?:[-+=]|\d+[.)])", markdown, re.MULTILINE)
    return bare


@pytest.mark.parametrize("text", HOSTILE)
def test_producer_text_in_markdown_fields_shows_literally(text: str) -> None:
    params = card_params(_card(description=text, labels={text: text}))
    assert _unescaped(params["description"]) == text and _bare_syntax(params["description"]) == []
    assert params["labels"].startswith("- **") and _unescaped(params["labels"]) == f"- **{text}**: {text}"


def test_our_own_markdown_and_links_still_work() -> None:
    params = card_params(_card(labels={"service": "db", "env": "prod"}))
    assert params["labels"] == "- **service**: db\n- **env**: prod"  # label_order puts service first
    assert params["incident_url"] == "https://duty.example.com/app/int_test/incidents/inc-1"


def test_a_cut_never_leaves_a_backslash_escaping_the_cut_mark() -> None:
    for text in ("\\" * 2000, "[" * 2000, "a" + "[" * 2000, "磁[" * 700):
        description = card_params(_card(description=text))["description"]
        kept = description.removesuffix("…")
        assert description.endswith("…") and len(description.encode()) <= MAX_VALUE_BYTES
        assert (len(kept) - len(kept.rstrip("\\"))) % 2 == 0 and text.startswith(_unescaped(kept))


def test_hostile_text_reaches_the_simulated_card_escaped(registered: DingTalk, sim: DingTalkSimulator) -> None:
    key = _key()
    registered.send_card("user", "zhangwei", _card(description=HOSTILE[0]), key)
    assert _cards_with(sim, key)[0]["cardParamMap"]["description"] == \
        "\\[点这里 click\\]\\(https://evil.example.com/login\\)"


# -- error mapping --------------------------------------------------------------------------------

@pytest.mark.parametrize(("api", "kind", "expected"), [
    (CREATE_API, "qps", RateLimited), (CREATE_API, "quota", QuotaExhausted), (CREATE_API, "http500", Retryable),
    (BY_MOBILE_API, "qps", RateLimited), (BY_MOBILE_API, "quota", QuotaExhausted),
    (BY_MOBILE_API, "http500", Retryable),
])
def test_platform_faults_map_to_the_retry_classes(registered: DingTalk, sim: DingTalkSimulator, api: str,
                                                   kind: str, expected: type[PlatformError]) -> None:
    registered.token("app")
    registered.token("oapi")
    sim.inject(api, kind)
    key = _key()
    with pytest.raises(expected) as caught:
        if api == CREATE_API:
            registered.send_card("user", "zhangwei", _card(), key)
        else:
            registered.user_by_mobile("13800000001")
    assert caught.value.retryable is (expected is not QuotaExhausted)
    if expected is RateLimited:
        assert caught.value.retry_after and caught.value.retry_after > 0
    assert _cards_with(sim, key) == []


@pytest.mark.parametrize("answer", [{"errcode": 88004, "errmsg": "服务端错误"},
                                    {"errcode": 88, "sub_code": "88004", "sub_msg": "服务端错误"}])
def test_dingtalk_88004_is_a_server_error_to_retry(answer: dict[str, Any], monkeypatch) -> None:
    monkeypatch.setattr(dingtalk_api.http, "call", lambda *a, **k: dingtalk_api.http.Answer(200, answer))
    with pytest.raises(Retryable) as caught:
        dingtalk_api.old_api("POST", "https://oapi.dingtalk.com", "/topapi/v2/user/getbymobile", {}, {})
    assert caught.value.platform_code == "88004" and caught.value.retryable


def test_a_send_that_failed_with_http500_delivers_exactly_one_card_on_retry(registered: DingTalk,
                                                                             sim: DingTalkSimulator) -> None:
    key = _key()
    sim.inject(CREATE_API, "http500")
    with pytest.raises(Retryable):
        registered.send_card("user", "lina", _card(), key)
    registered.send_card("user", "lina", _card(), key)
    assert len(_cards_with(sim, key)) == 1


def test_real_qps_limit_is_rate_limited(ding: DingTalk, sim: DingTalkSimulator) -> None:
    ding.token("oapi")
    saved, sim.limits.qps_limit = sim.limits.qps_limit, 1
    try:
        assert ding.user_by_mobile("13800000001") == "zhangwei"
        with pytest.raises(RateLimited):
            ding.user_by_mobile("13800000001")
    finally:
        sim.limits.qps_limit = saved


def test_spent_monthly_quota_is_quota_exhausted(registered: DingTalk, sim: DingTalkSimulator) -> None:
    registered.token("app")
    saved, sim.limits.monthly_quota = sim.limits.monthly_quota, 0
    try:
        with pytest.raises(QuotaExhausted):
            registered.send_card("user", "zhangwei", _card(), _key())
    finally:
        sim.limits.monthly_quota = saved


def test_a_timeout_is_platform_unavailable(ding: DingTalk, sim: DingTalkSimulator, monkeypatch) -> None:
    ding.token("oapi")
    monkeypatch.setenv("PLATFORM_HTTP_TIMEOUT", "0.2")
    config.reset()
    sim.inject(BY_MOBILE_API, "timeout", seconds=0.5)
    try:
        with pytest.raises(PlatformUnavailable):
            ding.user_by_mobile("13800000001")
    finally:
        monkeypatch.delenv("PLATFORM_HTTP_TIMEOUT")
        config.reset()


def test_refused_old_api_token_is_refreshed_once_and_the_call_retried_once(ding: DingTalk,
                                                                           sim: DingTalkSimulator) -> None:
    assert ding.user_by_mobile("13800000002") == "lina"
    sim.inject(BY_MOBILE_API, "errcode88")
    before = (sim.call_count("/gettoken"), sim.call_count(BY_MOBILE_API))
    assert ding.user_by_mobile("13800000002") == "lina"
    assert (sim.call_count("/gettoken") - before[0], sim.call_count(BY_MOBILE_API) - before[1]) == (1, 2)


def test_refused_new_api_token_is_refreshed_once_and_the_card_sent(registered: DingTalk,
                                                                   sim: DingTalkSimulator) -> None:
    registered.token("app")
    sim.inject(CREATE_API, "errcode88")
    key = _key()
    _, fetched = _delta(sim, TOKEN_API, lambda: registered.send_card("user", "zhangwei", _card(), key))
    assert fetched == 1 and len(_cards_with(sim, key)) == 1


def test_a_token_refused_twice_is_not_retried_a_second_time(ding: DingTalk, sim: DingTalkSimulator) -> None:
    ding.token("oapi")
    sim.inject(BY_MOBILE_API, "errcode88", count=2)
    before = sim.call_count(BY_MOBILE_API)
    with pytest.raises(TokenInvalid):
        ding.user_by_mobile("13800000001")
    assert sim.call_count(BY_MOBILE_API) - before == 2


# -- groups -------------------------------------------------------------------------------------------

def _installed(ding: DingTalk, sim: DingTalkSimulator, conversation: str) -> ChatEvent:
    """The install event DingTalk pushes (no title in it), through the adapter's own parsing."""
    event = {"EventType": "im_cool_app_install", "eventId": uuid.uuid4().hex, "CorpId": sim.org.corp_id,
             "coolAppCode": sim.org.cool_app_code, "robotCode": sim.org.client_id,
             "openConversationId": conversation, "operator": "zhangwei"}
    timestamp, nonce = str(int(time.time() * 1000)), "n0nce4ding"
    encrypt = sim.crypt.encrypt(json.dumps(event, ensure_ascii=False))
    query = {"signature": sim.crypt.sign(timestamp, nonce, encrypt), "timestamp": timestamp, "nonce": nonce}
    pushed = ding.parse_callback(InboundRequest("POST", query, {}, json.dumps({"encrypt": encrypt}).encode()),
                                 Endpoint.events)
    (joined,) = pushed.events
    return joined


def test_an_installed_group_is_named_by_dingtalk(ding: DingTalk, installed_group: str,
                                                  sim: DingTalkSimulator) -> None:
    joined, calls = _delta(sim, "/v1.0/im/sceneGroups/query", lambda: _installed(ding, sim, installed_group))
    assert (joined.kind, joined.chat_id, joined.title, calls) == ("joined", installed_group, "SRE 值班群", 1)


def test_a_title_dingtalk_refuses_leaves_the_install_untitled(ding: DingTalk, installed_group: str,
                                                               sim: DingTalkSimulator) -> None:
    sim.inject("/v1.0/im/sceneGroups/query", "http500")
    joined = _installed(ding, sim, installed_group)
    assert (joined.kind, joined.chat_id, joined.title) == ("joined", installed_group, "")


# -- people ---------------------------------------------------------------------------------------

def test_user_by_mobile_finds_a_known_mobile_and_returns_none_for_an_unknown_one(ding: DingTalk) -> None:
    assert ding.user_by_mobile("13800000003") == "wangfang"
    assert ding.user_by_mobile("13999999999") is None


def test_h5_user_accepts_a_fresh_auth_code_once(ding: DingTalk, sim: DingTalkSimulator) -> None:
    code = sim.mint_auth_code("lina")
    user = ding.h5_user(code)
    assert (user.user_id, user.name) == ("lina", "李娜")
    with pytest.raises(CallbackRejected):
        ding.h5_user(code)
