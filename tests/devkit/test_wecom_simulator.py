"""The WeCom simulator must refuse what WeCom refuses, with WeCom's own errcodes, and call the app as WeCom does."""
from __future__ import annotations

import time
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest
import requests

from chalicelib.platforms.msgcrypt import MsgCrypt
from devkit.simulators.combined import start_simulators
from devkit.simulators.http import Request, Response, Router, serve, text_response
from devkit.simulators.wecom.corp import Corp
from devkit.simulators.wecom.push import xml_message
from devkit.simulators.wecom.simulator import WeComSimulator

VECTOR_1 = ("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
VECTOR_2 = ("hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "ww1436e0e65a779aee")
ENCRYPT_1 = ("RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg"
             "3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+k"
             "DZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6ti"
             "WSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p"
             "8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==")
ENCRYPT_2 = ("Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLN"
             "shw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh"
             "010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNf"
             "SsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+")


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


class FakeApp:
    """A stand-in for dutybridge's WeCom endpoints: checks and decrypts what comes in, answers as told."""

    def __init__(self, sim: WeComSimulator) -> None:
        self.crypt, self.corp = MsgCrypt(sim.corp.token, sim.corp.encoding_aes_key, sim.corp.corp_id), sim.corp
        self.echo = "bare"  # "bare" | "quoted" | "slow"
        self.statuses: list[int] = []  # HTTP statuses for the next callbacks (then 200)
        self.passive: str | None = None  # inner XML of a passive reply
        self.reply_crypt = self.crypt
        self.callbacks: list[tuple[dict[str, str], ElementTree.Element, ElementTree.Element]] = []
        router = Router()
        router.add("GET", "/wecom/events", self.on_verify)
        router.add("POST", "/wecom/events", self.on_callback)
        router.add("GET", r"/(?P<file>WW_verify_\w+\.txt)", self.on_file)
        self.server, _ = serve(router)
        self.host = f"127.0.0.1:{self.server.server_port}"
        self.url = f"http://{self.host}/wecom/events"

    def on_verify(self, request: Request) -> Response:
        query = request.query
        self.crypt.verify(query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"])
        plain = self.crypt.decrypt(query["echostr"])
        if self.echo == "slow":
            time.sleep(0.5)
        return text_response(200, f'"{plain}"' if self.echo == "quoted" else plain)

    def on_callback(self, request: Request) -> Response:
        outer = ElementTree.fromstring(request.body)
        encrypt = outer.findtext("Encrypt") or ""
        query = request.query
        self.crypt.verify(query["msg_signature"], query["timestamp"], query["nonce"], encrypt)
        self.callbacks.append((query, outer, ElementTree.fromstring(self.crypt.decrypt(encrypt))))
        if self.statuses:
            return text_response(self.statuses.pop(0), "busy")
        if self.passive is None:
            return text_response(200, "")
        reply = self.reply_crypt.encrypt(self.passive)
        signature = self.reply_crypt.sign("1700000000", "42", reply)
        return text_response(200, xml_message({"Encrypt": reply, "MsgSignature": signature, "TimeStamp": "1700000000",
                                               "Nonce": "42"}), "text/xml")

    def on_file(self, request: Request) -> Response:
        return text_response(200 if request.params["file"] == self.corp.verify_file else 404, self.corp.verify_content)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> Iterator[WeComSimulator]:
    simulator = WeComSimulator(now=clock, callback_timeout=2.0, verify_timeout=0.3)
    with simulator.serving():
        yield simulator


@pytest.fixture
def app(sim: WeComSimulator) -> Iterator[FakeApp]:
    fake = FakeApp(sim)
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def token(sim: WeComSimulator) -> str:
    query = {"corpid": sim.corp.corp_id, "corpsecret": sim.corp.secret}
    return requests.get(f"{sim.api_base}/cgi-bin/gettoken", params=query).json()["access_token"]


def api(sim: WeComSimulator, path: str, body: Any = None, *, access_token: str | None = "", method: str = "POST",
        **query: str) -> dict[str, Any]:
    if access_token == "":
        access_token = token(sim)
    params = {**query, **({"access_token": access_token} if access_token else {})}
    response = requests.request(method, f"{sim.api_base}/cgi-bin{path}", params=params, json=body)
    assert response.status_code == 200
    return response.json()


def control(sim: WeComSimulator, path: str, body: Any = None) -> dict[str, Any]:
    return requests.post(f"{sim.api_base}/_sim/{path}", json=body or {}).json()


def test_agent_get_answers_the_tokens_own_app_and_40056_for_another(sim: WeComSimulator) -> None:
    """获取指定的应用详情: the documented fields for the token's app; "企业仅可获取当前凭证对应的应用"."""
    detail = api(sim, "/agent/get", method="GET", agentid=sim.corp.agent_id)
    assert {"errcode", "errmsg", "agentid", "name", "square_logo_url", "description", "allow_userinfos",
            "allow_partys", "allow_tags", "close", "redirect_domain", "report_location_flag", "isreportenter",
            "home_url"} == set(detail)
    assert (detail["errcode"], detail["agentid"], detail["close"]) == (0, int(sim.corp.agent_id), 0)
    assert {"userid": "ZhangWei"} in detail["allow_userinfos"]["user"]
    other = api(sim, "/agent/get", method="GET", agentid="1000099")
    assert other["errcode"] == 40056 and other["errmsg"].startswith("invalid agentid")
    assert api(sim, "/agent/get", method="GET")["errcode"] == 41011
    assert api(sim, "/agent/get", method="GET", access_token="bogus", agentid=sim.corp.agent_id)["errcode"] == 40014


def card(task_id: str = "inc42_ack", **extra: Any) -> dict[str, Any]:
    return {"card_type": "button_interaction", "task_id": task_id, "source": {"desc": "严重 Critical", "desc_color": 2},
            "main_title": {"title": "[P1] DB latency high", "desc": "prod-mysql-3"},
            "horizontal_content_list": [{"keyname": "Service", "value": "orders"}],
            "card_action": {"type": 1, "url": "https://app.example/incident/42"},
            "button_list": [{"text": "认领 Ack", "style": 1, "key": "ack/0/42"},
                            {"text": "关闭 Close", "style": 2, "key": "resolve/0/42"}],
            "action_menu": {"desc": "更多", "action_list": [{"text": "屏蔽 6 小时", "key": "silence/360/42"}]}, **extra}


def send_card(sim: WeComSimulator, touser: str = "ZhangWei", **extra: Any) -> dict[str, Any]:
    return api(sim, "/message/send", {"touser": touser, "msgtype": "template_card", "agentid": 1000002,
                                      "template_card": card(**extra)})


def text(sim: WeComSimulator, touser: str = "ZhangWei", content: str = "hello", **extra: Any) -> dict[str, Any]:
    return api(sim, "/message/send", {"touser": touser, "msgtype": "text", "agentid": 1000002,
                                      "text": {"content": content}, **extra})


def saved(sim: WeComSimulator, app: FakeApp) -> None:
    assert control(sim, "console/callback-url", {"url": app.url})["ok"] is True


def space(sim: WeComSimulator, key: str) -> list[dict[str, Any]]:
    return sim.state()["spaces"].get(key, [])


# --- crypto: the official vectors through the simulator's envelope ------------------------------------------


@pytest.mark.parametrize("vector, timestamp, nonce, echostr, signature, plain", [
    (VECTOR_1, "1409659589", "263014780",
     "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
     "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1616140317555161061"),
    (VECTOR_2, "1476416373", "47744683",
     "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
     "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1288432023552776189")])
def test_official_url_vectors(vector: tuple[str, str, str], timestamp: str, nonce: str, echostr: str,
                              signature: str, plain: str) -> None:
    crypt = WeComSimulator(Corp(token=vector[0], encoding_aes_key=vector[1], corp_id=vector[2])).crypt
    assert crypt.sign(timestamp, nonce, echostr) == signature
    assert crypt.decrypt(echostr) == plain
    assert crypt.decrypt(crypt.encrypt(plain)) == plain


@pytest.mark.parametrize("vector, timestamp, nonce, encrypt, signature, needle", [
    (VECTOR_1, "1409659813", "1372623149", ENCRYPT_1, "477715d11cdb4164915debcba66cb864d751f3e6",
     "<Content><![CDATA[hello]]></Content>"),
    (VECTOR_2, "1476422779", "1597212914", ENCRYPT_2, "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
     "<Content>你好</Content>")])
def test_official_message_vectors(vector: tuple[str, str, str], timestamp: str, nonce: str, encrypt: str,
                                  signature: str, needle: str) -> None:
    crypt = WeComSimulator(Corp(token=vector[0], encoding_aes_key=vector[1], corp_id=vector[2])).crypt
    crypt.verify(signature, timestamp, nonce, encrypt)
    assert needle in crypt.decrypt(encrypt)


# --- tokens, errmsg shape, gateway -------------------------------------------------------------------------------


def test_gettoken_and_the_token_rules(sim: WeComSimulator, clock: Clock) -> None:
    url = f"{sim.api_base}/cgi-bin/gettoken"
    first = requests.get(url, params={"corpid": sim.corp.corp_id, "corpsecret": sim.corp.secret}).json()
    assert (first["errcode"], first["errmsg"], first["expires_in"]) == (0, "ok", 7200)
    assert token(sim) == first["access_token"]  # the same token while it is valid
    assert requests.get(url, params={"corpid": "wwnope", "corpsecret": "x"}).json()["errcode"] == 40013
    assert requests.get(url, params={"corpid": sim.corp.corp_id, "corpsecret": "x"}).json()["errcode"] == 40001
    assert requests.get(url, params={"corpsecret": "x"}).json()["errcode"] == 41002
    assert api(sim, "/user/getuserid", {"mobile": "13700000001"}, access_token=None)["errcode"] == 41001
    assert api(sim, "/user/getuserid", {"mobile": "13700000001"}, access_token="forged")["errcode"] == 40014
    clock.t += 7201
    expired = api(sim, "/user/getuserid", {"mobile": "13700000001"}, access_token=first["access_token"])
    assert expired["errcode"] == 42001
    assert token(sim) != first["access_token"]


def test_refusals_carry_wecoms_errmsg_tail_and_headers(sim: WeComSimulator) -> None:
    response = requests.post(f"{sim.api_base}/cgi-bin/message/send", params={"access_token": token(sim)}, data=b"{oops")
    body = response.json()
    assert response.status_code == 200 and body["errcode"] == 41011
    assert body["errmsg"].startswith("Warning: wrong json format. missing agentid, hint: [")
    assert "from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=41011" in body["errmsg"]
    assert response.headers["Error-Code"] == "41011" and sim.state()["rejections"][-1]["code"] == 41011


def test_trusted_ips(sim: WeComSimulator) -> None:
    assert control(sim, "console/trusted-ips", {"ips": ["10.1.2.3"]})["trustedIps"] == ["10.1.2.3"]
    access = token(sim)  # gettoken is not held to the trusted IPs
    assert text(sim)["errcode"] == 60020
    assert "not allow to access from your ip" in api(sim, "/user/getuserid", {"mobile": "13700000001"},
                                                     access_token=access)["errmsg"]
    control(sim, "console/trusted-ips", {"ips": []})
    assert text(sim)["errcode"] == 0


def test_api_frequency_limit_blocks_for_a_minute(sim: WeComSimulator, clock: Clock) -> None:
    clock.t = 1_800_000_000.0  # the start of a minute
    access = token(sim)
    assert control(sim, "limits", {"apiPerMinute": 2})["apiPerMinute"] == 2
    assert [api(sim, "/user/getuserid", {"mobile": "13700000001"}, access_token=access)["errcode"]
            for _ in range(3)] == [0, 0, 45009]
    clock.t += 59.5  # next minute window, but the block lasts 60 s from the breach
    assert api(sim, "/user/getuserid", {"mobile": "13700000001"}, access_token=access)["errcode"] == 45009
    clock.t += 1
    assert api(sim, "/user/getuserid", {"mobile": "13700000001"}, access_token=access)["errcode"] == 0


@pytest.mark.parametrize("kind, errcode", [("busy", -1), ("45009", 45009), ("45033", 45033), ("token_invalid", 40014)])
def test_injected_faults(sim: WeComSimulator, kind: str, errcode: int) -> None:
    access = token(sim)
    sim.inject("/message/send", kind)
    assert text(sim, access_token=access)["errcode"] == errcode
    assert text(sim, access_token=access)["errcode"] == 0


def test_http500_and_timeout_faults(sim: WeComSimulator) -> None:
    access = token(sim)
    assert control(sim, "faults", {"path_suffix": "/message/send", "kind": "http500"})["ok"] is True
    response = requests.post(f"{sim.api_base}/cgi-bin/message/send", params={"access_token": access}, json={})
    assert response.status_code == 500
    sim.inject("/user/getuserid", "timeout", seconds=0.2)
    started = time.monotonic()
    assert api(sim, "/user/getuserid", {"mobile": "13700000001"}, access_token=access)["userid"] == "ZhangWei"
    assert time.monotonic() - started >= 0.2
    assert sim.call_count("/message/send") == 1


# --- message/send and template cards ----------------------------------------------------------------------------


@pytest.mark.parametrize("change, errcode", [
    ({"agentid": None}, 41011), ({"agentid": 1000003}, 40056), ({"msgtype": "card"}, 40008),
    ({"text": {"content": ""}}, 44004), ({"text": {"content": "x" * 2049}}, 45002),
    ({"touser": "", "toparty": "", "totag": ""}, 82001), ({"touser": "ghost|nobody"}, 81013),
    ({"msgtype": "textcard", "textcard": {"title": "t", "url": "https://x"}}, 41033)])
def test_message_send_refusals(sim: WeComSimulator, change: dict[str, Any], errcode: int) -> None:
    body = {"touser": "ZhangWei", "msgtype": "text", "agentid": 1000002, "text": {"content": "hi"}, **change}
    answer = api(sim, "/message/send", {k: v for k, v in body.items() if v is not None})
    assert answer["errcode"] == errcode
    if errcode == 81013:
        assert answer["invaliduser"] == "ghost|nobody"


@pytest.mark.parametrize("change, errcode", [
    ({"main_title": None}, 40058), ({"card_type": "fancy"}, 40058),
    ({"button_list": [{"text": f"b{i}", "key": f"k{i}"} for i in range(7)]}, 40058),
    ({"button_list": [{"text": "a", "key": "k"}, {"text": "b", "key": "k"}]}, 40058),
    ({"button_list": [{"text": "a", "key": "k" * 1025}]}, 40058), ({"button_list": [{"text": "a"}]}, 40058),
    ({"button_list": [{"text": "a", "key": "k", "style": 5}]}, 40058),
    ({"action_menu": {"action_list": [{"text": f"m{i}", "key": f"m{i}"} for i in range(4)]}}, 40058),
    ({"horizontal_content_list": [{"keyname": "k", "value": "v"}] * 7}, 40058),
    ({"source": {"desc": "x", "desc_color": 9}}, 40058),
    ({"task_id": "bad id!"}, 42014), ({"task_id": "t" * 129}, 42014), ({"task_id": ""}, 42014)])
def test_template_card_validation(sim: WeComSimulator, app: FakeApp, change: dict[str, Any], errcode: int) -> None:
    saved(sim, app)
    template = {k: v for k, v in {**card(), **change}.items() if v is not None}
    answer = api(sim, "/message/send", {"touser": "ZhangWei", "msgtype": "template_card", "agentid": 1000002,
                                        "template_card": template})
    assert answer["errcode"] == errcode, answer


def test_callback_cards_need_a_callback_url_and_a_fresh_task_id(sim: WeComSimulator, app: FakeApp) -> None:
    assert send_card(sim)["errcode"] == 43012
    saved(sim, app)
    first = send_card(sim, touser="ZhangWei|ChenJie|ghost")
    assert (first["errcode"], first["invaliduser"], first["unlicenseduser"]) == (0, "ghost", "ChenJie")
    assert first["response_code"] and first["msgid"]
    again = send_card(sim, touser="LiNa")
    assert again["errcode"] == 42014 and again["errmsg"].startswith("taskid has existed or empty or exceed max len")
    cards = space(sim, "user:ZhangWei")
    assert len(cards) == 1 and cards[0]["taskId"] == "inc42_ack" and cards[0]["updateBudget"] == 1
    assert space(sim, "user:ChenJie") == []  # unlicensed: nothing arrives
    plain = text(sim, touser="@all")
    assert plain["errcode"] == 0 and "response_code" not in plain and plain["unlicenseduser"] == "ChenJie"


def test_member_window_drops_silently(sim: WeComSimulator, clock: Clock) -> None:
    clock.t = 1_800_000_000.0
    access = token(sim)
    answers = [text(sim, content=f"m{i}", access_token=access)["errcode"] for i in range(31)]
    assert answers == [0] * 31  # WeCom does not say a thing
    state = sim.state()
    assert len(state["spaces"]["user:ZhangWei"]) == 30
    assert [d["userid"] for d in state["drops"]] == ["ZhangWei"]
    assert "30 messages a minute" in state["drops"][0]["reason"]
    assert text(sim, touser="LiNa", access_token=access)["errcode"] == 0  # per member
    clock.t += 60
    text(sim, access_token=access)
    assert len(space(sim, "user:ZhangWei")) == 31


# --- update_template_card and response codes -------------------------------------------------------------------


def update(sim: WeComSimulator, code: str, **change: Any) -> dict[str, Any]:
    body = {"userids": ["ZhangWei"], "agentid": 1000002, "response_code": code, "button": {"replace_name": "已认领"},
            **change}
    return api(sim, "/message/update_template_card", {k: v for k, v in body.items() if v is not None})


def test_response_code_is_single_use(sim: WeComSimulator, app: FakeApp) -> None:
    saved(sim, app)
    code = send_card(sim)["response_code"]
    assert update(sim, "nope")["errcode"] == 40058
    assert update(sim, code, userids=[], button=None, template_card=card(main_title={"title": "x"}))["errcode"] == 81012
    assert update(sim, code, userids=["LiNa"])["errcode"] == 81013  # LiNa never got this card
    ok = update(sim, code, userids=["ZhangWei", "LiNa"])
    assert ok == {"errcode": 0, "errmsg": "ok", "invaliduser": ["LiNa"]}
    assert update(sim, code)["errcode"] == 42022
    shown = space(sim, "user:ZhangWei")[0]
    assert shown["replaceName"] == "已认领" and shown["updateBudget"] == 0 and shown["updates"][0]["via"] == "api"


def test_response_code_expires_after_72_hours(sim: WeComSimulator, app: FakeApp, clock: Clock) -> None:
    saved(sim, app)
    code = send_card(sim)["response_code"]
    clock.t += 72 * 3600 - 1
    assert sim.state()["spaces"]["user:ZhangWei"][0]["updateBudget"] == 1
    clock.t += 1
    assert update(sim, code)["errcode"] == 40058
    assert space(sim, "user:ZhangWei")[0]["updateBudget"] == 0


def test_update_replaces_the_whole_card(sim: WeComSimulator, app: FakeApp) -> None:
    saved(sim, app)
    code = send_card(sim)["response_code"]
    new = card(main_title={"title": "[P1] resolved"}, task_id=None)
    assert update(sim, code, button=None, template_card={k: v for k, v in new.items() if v is not None})["errcode"] == 0
    shown = space(sim, "user:ZhangWei")[0]
    assert shown["content"]["main_title"]["title"] == "[P1] resolved" and shown["content"]["task_id"] == "inc42_ack"


# --- outbound: console check, clicks, passive replies, retries ----------------------------------------------------


def test_callback_url_check(sim: WeComSimulator, app: FakeApp) -> None:
    app.echo = "quoted"
    refused = control(sim, "console/callback-url", {"url": app.url})
    assert refused["ok"] is False and "openapi回调地址请求不通过" in refused["error"]
    app.echo = "slow"
    assert control(sim, "console/callback-url", {"url": app.url})["ok"] is False
    assert sim.corp.callback_url is None
    app.echo = "bare"
    saved(sim, app)
    assert sim.state()["corp"]["callbackUrl"] == app.url
    assert control(sim, "console/callback-url", {"url": "ftp://x"})["ok"] is False


def test_click_delivers_the_encrypted_card_event(sim: WeComSimulator, app: FakeApp) -> None:
    saved(sim, app)
    send_card(sim)
    result = control(sim, "click", {"userid": "ZhangWei", "task_id": "inc42_ack", "key": "ack/0/42"})
    assert result["ok"] is True and result["applied"] is False and len(result["attempts"]) == 1
    query, outer, inner = app.callbacks[-1]
    assert set(query) == {"msg_signature", "timestamp", "nonce"}
    assert [child.tag for child in outer] == ["ToUserName", "AgentID", "Encrypt"]
    assert (outer.findtext("ToUserName"), outer.findtext("AgentID")) == (sim.corp.corp_id, "1000002")
    fields = {child.tag: child.text for child in inner}
    assert fields == {"ToUserName": sim.corp.corp_id, "FromUserName": "ZhangWei", "CreateTime": fields["CreateTime"],
                      "MsgType": "event", "Event": "template_card_event", "EventKey": "ack/0/42",
                      "TaskId": "inc42_ack", "CardType": "button_interaction", "ResponseCode": result["responseCode"],
                      "AgentID": "1000002"}
    assert space(sim, "user:ZhangWei")[0]["updateBudget"] == 2  # the send's code and the click's
    assert update(sim, result["responseCode"])["errcode"] == 0
    menu = control(sim, "click", {"userid": "ZhangWei", "task_id": "inc42_ack", "key": "silence/360/42"})
    assert menu["event"] == "template_card_menu_event" and app.callbacks[-1][2].findtext("Event") == menu["event"]
    assert requests.post(f"{sim.api_base}/_sim/click", json={"userid": "ZhangWei", "task_id": "inc42_ack",
                                                             "key": "nope"}).status_code == 400


def test_passive_replies_update_the_clickers_card(sim: WeComSimulator, app: FakeApp) -> None:
    saved(sim, app)
    send_card(sim, touser="ZhangWei|LiNa")
    app.passive = ("<xml><ToUserName>ZhangWei</ToUserName><CreateTime>1</CreateTime><MsgType>update_button</MsgType>"
                   "<Button><ReplaceName>已认领 Acked</ReplaceName></Button></xml>")
    assert control(sim, "click", {"userid": "ZhangWei", "task_id": "inc42_ack", "key": "ack/0/42"})["applied"] is True
    assert space(sim, "user:ZhangWei")[0]["replaceName"] == "已认领 Acked"
    assert space(sim, "user:LiNa")[0]["replaceName"] == ""
    greyed = requests.post(f"{sim.api_base}/_sim/click", json={"userid": "ZhangWei", "task_id": "inc42_ack",
                                                               "key": "ack/0/42"})
    assert greyed.status_code == 409
    app.passive = ("<xml><MsgType><![CDATA[update_template_card]]></MsgType><TemplateCard><CardType>button_interaction"
                   "</CardType><Source><Desc>已关闭</Desc><DescColor>3</DescColor></Source><MainTitle><Title>Closed"
                   "</Title></MainTitle><HorizontalContentList><KeyName>By</KeyName><Value>李娜</Value>"
                   "</HorizontalContentList><ButtonList><Text>刷新</Text><Style>4</Style><Key>refresh/0/42</Key>"
                   "</ButtonList></TemplateCard></xml>")
    assert control(sim, "click", {"userid": "LiNa", "task_id": "inc42_ack", "key": "resolve/0/42"})["applied"] is True
    content = space(sim, "user:LiNa")[0]["content"]
    assert content["source"] == {"desc": "已关闭", "desc_color": 3} and content["task_id"] == "inc42_ack"
    assert content["horizontal_content_list"] == [{"keyname": "By", "value": "李娜"}]
    assert content["button_list"] == [{"text": "刷新", "style": 4, "key": "refresh/0/42"}]
    app.reply_crypt = MsgCrypt("wrongtoken", sim.corp.encoding_aes_key, sim.corp.corp_id)
    forged = control(sim, "click", {"userid": "LiNa", "task_id": "inc42_ack", "key": "refresh/0/42"})
    assert forged["applied"] is False and "signature" in forged["ignored"]


def test_callbacks_are_retried_three_times(sim: WeComSimulator, app: FakeApp) -> None:
    saved(sim, app)
    send_card(sim)
    app.statuses = [500, 502]
    result = control(sim, "click", {"userid": "ZhangWei", "task_id": "inc42_ack", "key": "ack/0/42"})
    assert result["ok"] is True and [a["status"] for a in result["attempts"]] == [500, 502, 200]
    assert len({c[0]["nonce"] for c in app.callbacks[-3:]}) == 1  # the same request again
    app.statuses = [500, 500, 500]
    failed = control(sim, "click", {"userid": "ZhangWei", "task_id": "inc42_ack", "key": "ack/0/42"})
    assert failed["ok"] is False and len(failed["attempts"]) == 3 and "3 attempts" in failed["ignored"]


def test_member_text_reaches_the_app(sim: WeComSimulator, app: FakeApp) -> None:
    assert requests.post(f"{sim.api_base}/_sim/send-text", json={"userid": "LiNa", "content": "hi"}).status_code == 409
    saved(sim, app)
    result = control(sim, "send-text", {"userid": "LiNa", "content": "状态?"})
    inner = app.callbacks[-1][2]
    fields = (inner.findtext("MsgType"), inner.findtext("Content"), inner.findtext("FromUserName"))
    assert fields == ("text", "状态?", "LiNa")
    assert inner.findtext("MsgId") == result["msgid"] and space(sim, "user:LiNa")[0]["sender"] == "LiNa"


# --- people: getuserid and OAuth --------------------------------------------------------------------------------


def test_getuserid(sim: WeComSimulator) -> None:
    access = token(sim)
    assert api(sim, "/user/getuserid", {"mobile": "13700000002"}, access_token=access)["userid"] == "LiNa"
    assert api(sim, "/user/getuserid", {"mobile": "13800000000"}, access_token=access)["errcode"] == 46004
    assert api(sim, "/user/getuserid", {"mobile": "12"}, access_token=access)["errcode"] == 60103
    control(sim, "limits", {"mobileMissRatio": 0.2})  # 20% of 3 licensed members: blocked after one more miss
    assert api(sim, "/user/getuserid", {"mobile": "13800000001"}, access_token=access)["errcode"] == 46004
    assert api(sim, "/user/getuserid", {"mobile": "13700000002"}, access_token=access)["errcode"] == 45009


def authorize(sim: WeComSimulator, redirect: str, **query: str) -> requests.Response:
    params = {"appid": sim.corp.corp_id, "redirect_uri": redirect, "response_type": "code", "scope": "snsapi_base",
              "state": "abc123", "agentid": sim.corp.agent_id, **query}
    return requests.get(f"{sim.oauth_base}/connect/oauth2/authorize", params=params, allow_redirects=False)


def test_oauth_round_trip(sim: WeComSimulator, app: FakeApp, clock: Clock) -> None:
    redirect = f"http://{app.host}/oauth/callback?x=1"
    assert "50001" in authorize(sim, redirect, sim_user="LiNa").text  # no trusted domain yet
    assert control(sim, "console/trusted-domain", {"domain": "127.0.0.1:1"})["ok"] is False  # ownership not proven
    assert control(sim, "console/trusted-domain", {"domain": app.host})["ok"] is True
    assert "50001" in authorize(sim, "http://evil.example/cb", sim_user="LiNa").text
    assert "84025" in authorize(sim, redirect, sim_user="LiNa", state="not-alnum!").text
    assert "40013" in authorize(sim, redirect, sim_user="LiNa", appid="wwother").text
    assert "Who opens the app" in authorize(sim, redirect).text
    answer = authorize(sim, redirect, sim_user="LiNa")
    location = urlsplit(answer.headers["Location"])
    assert answer.status_code == 302 and location.netloc == app.host and location.path == "/oauth/callback"
    query = parse_qs(location.query)
    assert query["state"] == ["abc123"] and query["x"] == ["1"]
    access = token(sim)
    assert api(sim, "/auth/getuserinfo", method="GET", access_token=access, code=query["code"][0]) == {
        "errcode": 0, "errmsg": "ok", "userid": "LiNa"}
    assert api(sim, "/auth/getuserinfo", method="GET", access_token=access, code=query["code"][0])["errcode"] == 40029
    cookie = requests.get(f"{sim.oauth_base}/connect/oauth2/authorize", allow_redirects=False,
                          params={"appid": sim.corp.corp_id, "redirect_uri": redirect, "response_type": "code",
                                  "scope": "snsapi_privateinfo", "agentid": sim.corp.agent_id},
                          cookies={"wecom_sim_user": "WangFang"})
    late = parse_qs(urlsplit(cookie.headers["Location"]).query)["code"][0]
    clock.t += 301
    assert api(sim, "/auth/getuserinfo", method="GET", access_token=token(sim), code=late)["errcode"] == 40029


def test_open_app_signs_in_as_that_member(sim: WeComSimulator, app: FakeApp) -> None:
    control(sim, "console/trusted-domain", {"domain": app.host, "verify": False})
    opened = control(sim, "open-app", {"userid": "WangFang", "url": f"http://{app.host}/app/i1"})
    assert opened["url"] == f"http://{app.host}/app/i1?sim_user=WangFang"
    location = authorize(sim, f"http://{app.host}/oauth/callback", scope="snsapi_privateinfo").headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    info = api(sim, "/auth/getuserinfo", method="GET", code=code)
    assert info["userid"] == "WangFang" and info["user_ticket"] and info["expires_in"] == 1800


# --- war room: appchat -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("change, errcode", [
    ({"userlist": ["ZhangWei"]}, 86006), ({"userlist": ["ZhangWei", "ghost"]}, 86007), ({"chatid": "inc-42"}, 86001),
    ({"chatid": "c" * 33}, 86205), ({"owner": "ghost"}, 86005), ({"owner": "WangFang"}, 86207)])
def test_appchat_create_refusals(sim: WeComSimulator, change: dict[str, Any], errcode: int) -> None:
    body = {"name": "INC-42 db latency", "owner": "ZhangWei", "userlist": ["ZhangWei", "LiNa"], **change}
    assert api(sim, "/appchat/create", body)["errcode"] == errcode


def test_appchat_war_room(sim: WeComSimulator) -> None:
    access = token(sim)
    body = {"name": "战" * 60, "userlist": ["ZhangWei", "LiNa"], "chatid": "inc42"}
    assert api(sim, "/appchat/create", body, access_token=access) == {"errcode": 0, "errmsg": "ok", "chatid": "inc42"}
    assert api(sim, "/appchat/create", body, access_token=access)["errcode"] == 86215
    generated = api(sim, "/appchat/create", {"userlist": ["ZhangWei", "LiNa", "WangFang"]}, access_token=access)
    assert generated["chatid"].isalnum()
    sent = api(sim, "/appchat/send", {"chatid": "inc42", "msgtype": "markdown",
                                      "markdown": {"content": "**[P1]** <font color=\"warning\">db</font>"}},
               access_token=access)
    assert sent == {"errcode": 0, "errmsg": "ok"}
    refused = api(sim, "/appchat/send", {"chatid": "inc42", "msgtype": "template_card", "template_card": card()},
                  access_token=access)
    assert refused["errcode"] == 40008
    assert api(sim, "/appchat/send", {"chatid": "nope", "msgtype": "text", "text": {"content": "x"}},
               access_token=access)["errcode"] == 86003
    info = api(sim, "/appchat/get", method="GET", access_token=access, chatid="inc42")["chat_info"]
    assert info["name"] == "战" * 50 and info["owner"] in ("ZhangWei", "LiNa")
    assert info["userlist"] == ["ZhangWei", "LiNa"]
    assert [m["msgtype"] for m in space(sim, "chat:inc42")] == ["markdown"]


# --- page and the combined server ----------------------------------------------------------------------------------


def test_page_and_combined_server() -> None:
    with start_simulators() as simulators:
        wecom, base = simulators.platforms["wecom"], f"http://127.0.0.1:{simulators.port}"
        assert (wecom.api_base, wecom.oauth_base) == (f"{base}/wecom", f"{base}/wecom/oauth")
        page, combined = requests.get(f"{base}/wecom/").text, requests.get(f"{base}/").text
        assert "#07c160" in page and 'post("click"' in page and 'id="wc-sim"' in combined
        assert 'data-base="/wecom"' in wecom.panel_html() and 'var root = document.getElementById("wc-sim")' in page
        assert requests.get(f"{base}/wecom/_sim/state").json()["corp"]["corpId"].startswith("ww")
