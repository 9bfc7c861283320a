"""An incident's picture on every platform, against its simulator: fetched and uploaded once per integration,
shown on the card as the client shows it, reused by the other cards and the updates; refused (the card goes
without it and its delivery says why) when too large, on a private address, not an image, or redirected
inside."""
from __future__ import annotations

import base64
import hashlib
import json
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import requests

from chalicelib.common import config, fetch
from chalicelib.common.errors import PlatformError
from chalicelib.core import cards, incidents
from chalicelib.core.models import DeliveryJob, IncidentFields
from chalicelib.delivery import pictures
from chalicelib.platforms import build, names
from chalicelib.platforms.base import Adapter
from chalicelib.platforms.dingtalk import cards as dingtalk_cards
from chalicelib.platforms.feishu import cards as feishu_cards
from chalicelib.platforms.robot import CHAT
from chalicelib.platforms.wecom import cards as wecom_cards
from chalicelib.store import deliveries
from devkit.console import Console
from devkit.simulators import entry_for
from devkit.simulators.media import SAMPLE_PNG
from tests.local_http import answering
from tests.platforms.test_adapter_contract import LARGEST, _serving_callbacks

TOO_LARGE = fetch.ABSOLUTE_MAX_BYTES + 1  # over every platform's limit and the absolute cap


def _pictures():
    """A producer's picture host on 127.0.0.1 (a private address): the sample, and every bad case."""
    return answering({
        "/panel.png": (200, {"Content-Type": "image/png"}, SAMPLE_PNG),
        "/big.png": (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n" + b"\0" * TOO_LARGE),
        "/page.html": (200, {"Content-Type": "text/html"}, b"<html>login</html>"),
        "/to-private.png": (302, {"Location": "http://10.1.2.3/panel.png"}, b""),
    })


@pytest.fixture(params=names())
def wired(request, aws_env) -> Iterator[tuple[Adapter, object, str]]:
    """The platform's adapter wired to its simulator (callback URLs saved where it has any), its picture host
    allowed through ``image_hosts``."""
    entry, served = entry_for(request.param), {}
    sim = entry.simulator()
    with sim.serving(), _serving_callbacks(served) as base, _pictures() as (host, _):
        state = requests.get(sim.mounted("/_sim/state"), timeout=10).json()
        body = entry.integration(state, sim.base_url)
        adapter = served["adapter"] = build(request.param, f"int_{uuid.uuid4().hex[:8]}", body["credentials"],
                                            {**body["settings"], "image_hosts": ["127.0.0.1"]})
        if adapter.reaches_people:
            urls = adapter.urls(base)
            adapter.after_save(urls)
            assert all(answer.get("ok") for answer in entry.save_urls(Console("", "", sim.base_url), urls).values())
        yield adapter, sim, host


def _targets(adapter: Adapter, sim) -> list[tuple[str, str]]:
    """Two people (apps), or the robot's one group."""
    if not adapter.reaches_people:
        return [("chat", CHAT)]
    return [("user", adapter.user_by_mobile(user.mobile)) for user in list(sim.directory.users.values())[:2]]


def _incident(url: str, incident_id: str = "inc-pic") -> dict:
    return incidents.ingest(IncidentFields(id=incident_id, title="磁盘将满 Disk almost full", severity="critical",
                                           image_url=url))[0]


def _attached(adapter: Adapter, target: tuple[str, str], incident_id: str = "inc-pic",
              record: dict | None = None) -> tuple[DeliveryJob, cards.Card]:
    job = DeliveryJob(incident_id=incident_id, integration_id=adapter.integration_id, kind=target[0],
                      target=target[1])
    card = cards.build(incidents.get(incident_id), adapter.integration_id)
    return job, pictures.attach(job, adapter, record if record is not None else {}, card)


def _note(job: DeliveryJob) -> str | None:
    """What the delivery says of its picture (None: nothing, it shows)."""
    return (deliveries.get(job.incident_id, job.target_key) or {}).get("note")


def _state(sim) -> dict:
    return requests.get(sim.mounted("/_sim/state"), timeout=10).json()


def _shown(adapter: Adapter, sim, ref: str) -> bool:
    """Whether the simulated client shows the picture ``ref`` names, and has its bytes."""
    state = _state(sim)
    shown = {
        "dingtalk": lambda: any(c["cardParamMap"].get("image") == ref for cs in state["cards"].values() for c in cs),
        "feishu": lambda: any(f'"img_key": "{ref}"' in json.dumps(m["content"], ensure_ascii=False)
                              for ms in state["messages"].values() for m in ms),
        "wecom": lambda: any(line.get("type") == 1 and line.get("url") == ref for ms in state["spaces"].values()
                             for m in ms for line in m["content"].get("horizontal_content_list", [])),
        "dingtalk-robot": lambda: any(f"![图片 Picture]({ref})" in m["text"] for m in state["robots"][0]["messages"]),
        "wecom-robot": lambda: any(m["msgtype"] == "image" for m in state["robots"][0]["messages"]),
    }[adapter.name]()
    stored = [m["ref"] for m in state.get("media", [])]
    return shown and (adapter.name == "dingtalk-robot" or bool(stored))


def test_the_dingtalk_template_binds_its_image_component_to_the_image_variable_hidden_when_empty():
    template = json.loads((Path(__file__).parents[2] / "docs" / "dingtalk" / "card-template.json").read_text("utf-8"))
    assert {"type": "image", "media_id": "{{image}}", "hide_when_empty": True} in template["layout"]
    assert "media/upload" in template["variables"]["image"]


def test_a_card_shows_its_picture_uploaded_once_and_reused(wired, monkeypatch):
    adapter, sim, host = wired
    is_public = fetch._is_public  # the test host stands for a public one (the DingTalk robot needs that)
    monkeypatch.setattr(fetch, "_is_public", lambda address: str(address) == "127.0.0.1" or is_public(address))
    _incident(f"{host}/panel.png")
    first, second = (_targets(adapter, sim) * 2)[:2]
    job, card = _attached(adapter, first)
    if not adapter.image_types:  # the Feishu custom bot: no upload, and the delivery says why
        assert card.image == "" and "飞书自定义机器人不能上传图片" in _note(job)
        return
    assert card.image and _note(job) is None
    assert incidents.get("inc-pic")["images"][adapter.integration_id]["ref"] == card.image
    ref = adapter.send_card(job.kind, job.target, card, job.card_key)
    assert _shown(adapter, sim, card.image)
    uploads = len(_state(sim).get("media", []))
    if adapter.image_lifetime is None:  # kept on the platform: the other card and the update reuse it
        other, again = _attached(adapter, second)
        assert again.image == card.image
        if adapter.reaches_people:
            adapter.send_card(other.kind, other.target, again, other.card_key)
        _, updated = _attached(adapter, first, record={"ref": ref})
        assert updated.image == card.image
        adapter.update_card(ref, updated.model_copy(update={"status": "acknowledged"}))
        assert len(_state(sim).get("media", [])) == uploads and _shown(adapter, sim, card.image)
    else:  # nothing stays on the platform: the picture went with the first message, and updates carry none
        assert not adapter.wants_image(ref)


@pytest.mark.parametrize("path, why", [
    ("/big.png", "图片过大 image over"),
    ("/page.html", "不是图片 not an image (text/html)"),
    ("/to-private.png", "图片地址指向内网 image URL points to a private address"),
])
def test_a_picture_that_cannot_be_fetched_leaves_the_card_without_it_and_says_why(wired, path, why):
    adapter, sim, host = wired
    if not adapter.image_types:
        pytest.skip("a Feishu custom bot shows no picture at all (see the test above)")
    _incident(f"{host}{path}")
    job, card = _attached(adapter, _targets(adapter, sim)[0])
    assert card.image == "" and why in _note(job)
    assert why in incidents.get("inc-pic")["images"][adapter.integration_id]["error"]
    adapter.send_card(job.kind, job.target, card, job.card_key)  # the card itself goes out
    assert not _state(sim).get("media")


def test_a_private_address_is_refused_unless_its_host_is_listed(wired):
    adapter, sim, host = wired
    if not adapter.image_types:
        pytest.skip("a Feishu custom bot shows no picture at all")
    adapter.settings.image_hosts = []
    _incident(f"{host}/panel.png")
    job, card = _attached(adapter, _targets(adapter, sim)[0])
    assert card.image == "" and "内网 image URL points to a private address" in _note(job)
    adapter.settings.image_hosts = ["127.0.0.1"]
    incidents.ingest(IncidentFields(id="inc-pic", title="磁盘将满 Disk almost full", severity="critical",
                                    image_url=f"{host}/panel.png?again"))  # a new address is tried at once
    job, card = _attached(adapter, _targets(adapter, sim)[0], record=deliveries.get("inc-pic", job.target_key) or {})
    note = _note(job)
    if adapter.name == "dingtalk-robot":  # fetched, but DingTalk's servers could not reach it to show it
        assert card.image == "" and "钉钉群机器人只能显示公网图片" in note
    else:
        assert card.image and note is None


PNG = b"\x89PNG\r\n\x1a\n"


@contextmanager
def _alone(name: str) -> Iterator[tuple[Adapter, object]]:
    """The platform's adapter and its simulator, nothing else (the upload APIs need no callback URLs)."""
    entry = entry_for(name)
    sim = entry.simulator()
    with sim.serving():
        body = entry.integration(_state(sim), sim.base_url)
        yield build(name, "int_upload", body["credentials"], body["settings"]), sim
# What each platform's upload answers when its own checks refuse a file (the fetch keeps such files from it;
# its simulator plays the platform): (bytes, the platform's code).
UPLOAD_REFUSALS = {
    "dingtalk": [(b"RIFF\0\0\0\0WEBPVP8 ", "40005"), (PNG + b"\0" * (20 << 20), "40006")],
    "feishu": [(b"%PDF-1.7", "234011"), (PNG + b"\0" * (10 << 20), "234006")],
    "wecom": [(b"GIF89a" + b"\0" * 16, "40005"), (PNG + b"\0" * (2 << 20), "40009")],
}


@pytest.fixture
def patient_http(monkeypatch):
    """Sending 20 MB on a busy test machine can outlast the 5 s platform timeout: give the uploads time."""
    monkeypatch.setenv("PLATFORM_HTTP_TIMEOUT", "60")
    config.reset()
    yield
    monkeypatch.undo()
    config.reset()


@pytest.mark.parametrize("name, data, code", [(name, data, code) for name, cases in UPLOAD_REFUSALS.items()
                                              for data, code in cases],
                         ids=lambda value: value if isinstance(value, str) and len(value) < 20 else "")
def test_an_upload_the_platform_refuses_is_its_error(aws_env, patient_http, name, data, code):
    with _alone(name) as (adapter, sim):
        with pytest.raises(PlatformError) as refused:
            adapter.upload_image(fetch.Picture("https://example.com/p.png", data, "image/png", True))
        assert not _state(sim).get("media")
    assert refused.value.platform_code == code and not refused.value.retryable


def test_feishu_needs_the_im_resource_scope_to_upload(aws_env):
    with _alone("feishu") as (adapter, sim):
        requests.post(sim.mounted("/_sim/console/permissions"), json={"scope": "im:resource", "granted": False},
                      timeout=10)
        with pytest.raises(PlatformError) as refused:
            adapter.upload_image(fetch.Picture("https://example.com/p.png", SAMPLE_PNG, "image/png", True))
    assert refused.value.platform_code == "99991672" and "im:resource" in refused.value.platform_message


def test_the_wecom_robot_image_message_is_checked_as_wecom_checks_it(aws_env):
    good = base64.b64encode(SAMPLE_PNG).decode()
    gif = {"base64": base64.b64encode(b"GIF89a").decode(), "md5": hashlib.md5(b"GIF89a").hexdigest()}
    with _alone("wecom-robot") as (adapter, sim):
        for image, code in (({"base64": good, "md5": "0" * 32}, "40058"), (gif, "40005")):
            with pytest.raises(PlatformError) as refused:
                adapter.post({"msgtype": "image", "image": image})
            assert refused.value.platform_code == code
        adapter.post({"msgtype": "image", "image": {"base64": good, "md5": hashlib.md5(SAMPLE_PNG).hexdigest()}})
        shown = _state(sim)["robots"][0]["messages"][-1]
    assert shown["text"].startswith("![图片 Picture](")
    assert shown["body"]["image"]["base64"] == f"<{len(SAMPLE_PNG)} bytes>"  # the page's state keeps no megabytes


def test_the_largest_card_keeps_its_picture_within_each_platforms_limits(aws_env):
    """The picture goes first among what is cut last: the largest incident's card still shows it, in bounds."""
    card = cards.build(LARGEST, "int_x").model_copy(update={"image": "img_v3_ref", "image_url": "https://x/p.png"})
    feishu = feishu_cards.render(card)
    assert feishu_cards.body_bytes(feishu) <= feishu_cards.MAX_BODY_BYTES - feishu_cards.BODY_ROOM
    assert all(any(e.get("tag") == "img" and e["img_key"] == "img_v3_ref" for e in elements)
               for elements in feishu["i18n_elements"].values())
    wecom = wecom_cards.render(card.model_copy(update={"image": "https://wework.qpic.cn/p/1"}), "task-1")
    lines = wecom["horizontal_content_list"]
    assert len(lines) <= wecom_cards.MAX_LINES - 2 and {"keyname": "图片 Picture", "value": "查看图片 View", "type": 1,
                                                        "url": "https://wework.qpic.cn/p/1"} in lines
    assert dingtalk_cards.card_params(card.model_copy(update={"image": "@lADPxyz"}))["image"] == "@lADPxyz"
    notice = wecom_cards.render(card.model_copy(update={"notice": True, "image": "https://wework.qpic.cn/p/1"}), "t-2")
    assert notice["card_type"] == "news_notice" and notice["card_image"] == {"url": "https://wework.qpic.cn/p/1"}
