"""Each adapter's war room against its simulator: the group, its members, idempotency, cards into it, refusals."""
from __future__ import annotations

import json
import uuid
from typing import Iterator

import pytest

from chalicelib.common.errors import Permanent
from chalicelib.core import cards
from chalicelib.core.callback import RoomPlan
from chalicelib.platforms.dingtalk import adapter as dingtalk
from chalicelib.platforms.dingtalk.cards import card_params
from chalicelib.platforms.feishu import adapter as feishu
from chalicelib.platforms.wecom import adapter as wecom
from chalicelib.platforms.wecom.cards import render as wecom_render
from devkit.simulators.dingtalk.simulator import DingTalkSimulator
from devkit.simulators.feishu.gate import api_error
from devkit.simulators.feishu.simulator import FeishuSimulator
from devkit.simulators.wecom.simulator import WeComSimulator

INCIDENT = {"id": "inc-1", "title": "CPU > 95% on db-1", "severity": "critical", "status": "triggered",
            "labels": {"service": "db"}}


def _plan(*members: str, title: str = "[作战室] CPU > 95% on db-1") -> RoomPlan:
    return RoomPlan(key="wr" + uuid.uuid4().hex[:30], title=title, title_en="[War room] CPU > 95% on db-1",
                    description="严重 Critical · inc-1", members=list(members))


def _card() -> cards.Card:
    return cards.build(INCIDENT, "int_test", {})


# -- DingTalk: a scene group from the template, cards through its group robot ---------------------------------

@pytest.fixture(scope="module")
def ding_sim() -> Iterator[DingTalkSimulator]:
    simulator = DingTalkSimulator(qps_limit=1000)
    with simulator.serving():
        yield simulator


def _ding(sim: DingTalkSimulator, scene: bool = True) -> dingtalk.DingTalk:
    org = sim.org
    settings = {"api_base": sim.api_base, "oapi_base": sim.oapi_base, "card_template_id": org.card_template_id}
    if scene:
        settings.update(scene_group_template_id=org.scene_group_template_id,
                        scene_group_robot_code=org.scene_group_robot_code)
    return dingtalk.DingTalk(f"int_{uuid.uuid4().hex[:8]}", dingtalk.Credentials(
        corp_id=org.corp_id, agent_id=org.agent_id, client_id=org.client_id, client_secret=org.client_secret,
        aes_key=org.aes_key, token=org.token), dingtalk.Settings(**settings))


def test_dingtalk_scene_group_holds_the_responders_and_takes_the_card(aws_env, ding_sim: DingTalkSimulator):
    ding = _ding(ding_sim)
    ding.after_save(ding.urls("https://duty.example.com"))  # registers the card callback route
    plan = _plan("zhangwei", "lina", title="[作战室] " + "数据库主库连接数打满导致下单接口和支付回调接口大面积超时")
    room = ding.open_room(plan)
    group = ding_sim.directory.groups[room.chat_id]
    assert group.scene and group.members == ["zhangwei", "lina"] and group.owner == "zhangwei"
    assert len(room.title) == 30 and group.title == room.title  # DingTalk takes at most 30 characters
    assert room.target == "scene:" + room.chat_id
    assert ding.open_room(plan).chat_id == room.chat_id  # the uuid finds the same group
    assert ding.add_to_room(room.chat_id, ["wangfang"]) == []
    assert group.members == ["zhangwei", "lina", "wangfang"]
    ding.send_card("chat", room.target, _card(), "inc-1.room00000001")
    delivered = ding_sim.state()["cards"][f"IM_GROUP.{room.chat_id}"]
    assert [c["outTrackId"] for c in delivered] == ["inc-1.room00000001"]


def test_dingtalk_refuses_an_owner_outside_the_org(aws_env, ding_sim: DingTalkSimulator):
    with pytest.raises(Permanent) as caught:
        _ding(ding_sim).open_room(_plan("ghost", "lina"))
    assert caught.value.platform_code == "member.notFound"


def test_dingtalk_without_a_scene_template_says_so_and_hides_the_button(ding_sim: DingTalkSimulator):
    bare, ready = _ding(ding_sim, scene=False), _ding(ding_sim)
    assert "scene_group_template_id" in bare.war_room_problem() and "场景群" in bare.war_room_problem()
    assert ready.war_room_problem() is None
    assert card_params(bare.offered(_card()))["can_war_room"] == "false"
    assert card_params(ready.offered(_card()))["can_war_room"] == "true"


# -- Feishu: a chat with the bot as manager, members added one call at a time ---------------------------------

@pytest.fixture
def fs_sim() -> Iterator[FeishuSimulator]:
    simulator = FeishuSimulator()
    with simulator.serving():
        yield simulator


def _fs(sim: FeishuSimulator) -> feishu.Feishu:
    app = sim.app
    return feishu.Feishu(f"int_{uuid.uuid4().hex[:8]}", feishu.Credentials(
        app_id=app.app_id, app_secret=app.app_secret, verification_token=app.verification_token,
        encrypt_key=app.encrypt_key), feishu.Settings(api_base=sim.api_base))


def _open_id(sim: FeishuSimulator, key: str) -> str:
    return sim.directory.person(key).open_id


def test_feishu_chat_holds_the_responders_and_takes_the_card(aws_env, fs_sim: FeishuSimulator):
    chen, liu, zhao = (_open_id(fs_sim, k) for k in ("chenjing", "liuyang", "zhaolei"))
    adapter = _fs(fs_sim)
    plan = _plan(chen, liu, zhao)
    room = adapter.open_room(plan)
    group = fs_sim.directory.groups[room.chat_id]
    assert group.members == [chen, liu, zhao] and group.owner == chen and group.bot_in_chat
    assert room.refused == [] and room.target == room.chat_id
    assert adapter.open_room(_plan(chen)).chat_id != room.chat_id
    assert fs_sim.chats.by_uuid[plan.key] == room.chat_id
    adapter.send_card("chat", room.target, _card(), "inc-1.room00000001")
    content = fs_sim.state()["messages"][f"chat:{room.chat_id}"][0]["content"]
    assert "作战室" in json.dumps(content, ensure_ascii=False)  # the card offers the room button


def test_feishu_names_members_it_would_not_add(aws_env, fs_sim: FeishuSimulator):
    chen, liu, zhao = (_open_id(fs_sim, k) for k in ("chenjing", "liuyang", "zhaolei"))
    fs_sim.directory.person("liuyang").in_scope = False  # outside the app's availability
    nobody = "ou_" + "9" * 32
    room = _fs(fs_sim).open_room(_plan(chen, liu, zhao, nobody))
    assert room.refused == [liu, nobody] and fs_sim.directory.groups[room.chat_id].members == [chen, zhao]
    alone = _fs(fs_sim).open_room(_plan(chen, liu, nobody))  # 232027: nobody in the batch can be added
    assert alone.refused == [liu, nobody] and fs_sim.directory.groups[alone.chat_id].members == [chen]


def test_feishu_waits_out_a_concurrent_member_operation(aws_env, fs_sim: FeishuSimulator, monkeypatch):
    real, busy = fs_sim.chats.begin_add, [True]

    def begin_add(chat_id, query, body):
        if busy.pop() if busy else False:
            raise api_error(232019, "The request has been rate limited.", "concurrent member add on one chat")
        return real(chat_id, query, body)

    monkeypatch.setattr(fs_sim.chats, "begin_add", begin_add)
    monkeypatch.setattr(feishu, "BUSY_WAIT", 0.01)
    chen, liu = _open_id(fs_sim, "chenjing"), _open_id(fs_sim, "liuyang")
    room = _fs(fs_sim).open_room(_plan(chen, liu))
    assert fs_sim.directory.groups[room.chat_id].members == [chen, liu] and busy == []


def test_feishu_mobile_lookup_needs_contact_user_id_readonly(aws_env, fs_sim: FeishuSimulator):
    fs_sim.app.scopes.discard("contact:user.id:readonly")
    with pytest.raises(Permanent) as caught:
        _fs(fs_sim).user_by_mobile("+8613900000001")
    assert caught.value.platform_code == "99991672" and "contact:user.id:readonly" in caught.value.platform_message


# -- WeCom: an app group chat in self-built mode with 开启作战室; summaries in it, buttons 1:1 -------------

@pytest.fixture
def wc_sim() -> Iterator[WeComSimulator]:
    simulator = WeComSimulator()
    with simulator.serving():
        yield simulator


def _wc(sim: WeComSimulator, **settings) -> wecom.WeCom:
    corp = sim.corp
    return wecom.WeCom(f"int_{uuid.uuid4().hex[:8]}", wecom.Credentials(
        corp_id=corp.corp_id, agent_id=str(corp.agent_id), secret=corp.secret, token=corp.token,
        encoding_aes_key=corp.encoding_aes_key), wecom.Settings(api_base=sim.api_base, **settings))


def test_wecom_app_chat_holds_the_responders_and_gets_the_summary(aws_env, wc_sim: WeComSimulator):
    adapter = _wc(wc_sim, war_room=True)
    plan = _plan("ZhangWei", "LiNa")
    room = adapter.open_room(plan)
    chat = wc_sim.chats.chats[plan.key]
    assert (room.chat_id, room.target) == (plan.key, plan.key)
    assert chat.userlist == ["ZhangWei", "LiNa"] and chat.owner == "ZhangWei" and chat.name == room.title
    assert adapter.open_room(plan).chat_id == room.chat_id  # 86215: created by an earlier attempt
    assert adapter.add_to_room(room.chat_id, ["WangFang"]) == [] and chat.userlist == ["ZhangWei", "LiNa", "WangFang"]
    with pytest.raises(Permanent) as caught:
        adapter.add_to_room(room.chat_id, ["ghost"])
    assert caught.value.platform_code == "86007"
    adapter.send_card("chat", room.target, _card(), "inc-1.room00000001")
    [summary] = wc_sim.state()["spaces"][f"chat:{plan.key}"]
    assert summary["msgtype"] == "markdown" and "CPU > 95% on db-1" in json.dumps(summary, ensure_ascii=False)
    assert not adapter.room_carries_buttons and adapter.room_min_members == 2


def test_wecom_war_room_needs_the_setting_and_the_self_built_mode(wc_sim: WeComSimulator):
    off, on = _wc(wc_sim), _wc(wc_sim, war_room=True)
    suite = wecom.WeCom("int_suite", wecom.Credentials(corp_id="wwsuitecorp"),
                        wecom.Settings(mode="third_party", war_room=True))
    assert "开启作战室" in off.war_room_problem() and on.war_room_problem() is None
    assert "企业自建应用" in suite.war_room_problem() and "self-built" in suite.war_room_problem()
    keys = [b["key"] for b in wecom_render(on.offered(_card()), "t1")["button_list"]]
    assert "war_room/0/inc-1" in keys
    assert "war_room/0/inc-1" not in [b["key"] for b in wecom_render(off.offered(_card()), "t1")["button_list"]]


def test_wecom_refuses_a_chat_with_someone_outside_the_corp(aws_env, wc_sim: WeComSimulator):
    with pytest.raises(Permanent) as caught:
        _wc(wc_sim, war_room=True).open_room(_plan("ZhangWei", "ghost"))
    assert caught.value.platform_code == "86007"
