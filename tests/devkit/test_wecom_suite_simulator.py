"""The WeCom simulator's service-provider suite: tickets, suite tokens, installs, corp tokens, web sign-in, and the
instruction and data callbacks, checked the way dutybridge's third-party mode uses them."""
from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest
import requests
from test_wecom_simulator import Clock, clock  # noqa: F401 - the settable clock and its fixture

from chalicelib.common.errors import CallbackRejected
from chalicelib.platforms.msgcrypt import MsgCrypt
from devkit.simulators.http import Request, Response, Router, serve, text_response
from devkit.simulators.wecom.corp import Suite
from devkit.simulators.wecom.simulator import WeComSimulator

DEMO, DEMO_AGENT, HOME_AGENT = "wwd6b1c3a5e7f90824", 1000003, 1000017


class Provider:
    """A stand-in for dutybridge's ``/callbacks/wecom-suite``: checks, decrypts and records what WeCom sends."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.instruction_reply = "success"
        self.ticket = ""  # the newest suite_ticket, kept as dutybridge keeps it
        self.checks: list[bytes] = []  # receive ids of the URL checks
        self.instructions: list[tuple[dict[str, str], ElementTree.Element, ElementTree.Element]] = []
        self.data: list[tuple[dict[str, str], ElementTree.Element, ElementTree.Element]] = []
        router = Router()
        router.add("GET", "/suite", self.on_verify)
        router.add("POST", "/suite", self.on_post)
        self.server, _ = serve(router)
        self.host = f"127.0.0.1:{self.server.server_port}"
        self.url = f"http://{self.host}/suite"

    def crypt(self, owner: str) -> MsgCrypt:
        return MsgCrypt(self.suite.token, self.suite.encoding_aes_key, owner)

    def on_verify(self, request: Request) -> Response:
        query, crypt = request.query, self.crypt("")
        crypt.verify(query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"])
        plain, owner = crypt.open(query["echostr"])
        self.checks.append(owner)
        return text_response(200, plain)

    def on_post(self, request: Request) -> Response:
        outer, query = ElementTree.fromstring(request.body), request.query
        receiver, encrypt = outer.findtext("ToUserName") or "", outer.findtext("Encrypt") or ""
        crypt = self.crypt(receiver)  # the suite's instructions: SuiteID; data callbacks: the corp's CorpID
        crypt.verify(query["msg_signature"], query["timestamp"], query["nonce"], encrypt)
        inner = ElementTree.fromstring(crypt.decrypt(encrypt))
        if receiver == self.suite.suite_id:
            self.instructions.append((query, outer, inner))
            self.ticket = inner.findtext("SuiteTicket") or self.ticket
            return text_response(200, self.instruction_reply)
        self.data.append((query, outer, inner))
        return text_response(200, "")


@pytest.fixture
def sim(clock: Clock) -> Iterator[WeComSimulator]:
    simulator = WeComSimulator(now=clock, callback_timeout=2.0, verify_timeout=0.5, ticket_interval=None)
    with simulator.serving():
        yield simulator


@pytest.fixture
def provider(sim: WeComSimulator) -> Iterator[Provider]:
    fake = Provider(sim.suite.suite)
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


def control(sim: WeComSimulator, path: str, body: Any = None) -> dict[str, Any]:
    return requests.post(f"{sim.api_base}/_sim/{path}", json=body or {}).json()


def cgi(sim: WeComSimulator, method: str, path: str, body: Any = None, **query: str) -> dict[str, Any]:
    response = requests.request(method, f"{sim.api_base}/cgi-bin{path}", params=query, json=body)
    assert response.status_code == 200
    return response.json()


def connected(sim: WeComSimulator, provider: Provider) -> dict[str, Any]:
    saved = control(sim, "suite/console/callback-url", {"url": provider.url})
    assert saved["ok"], saved
    return saved


def suite_token(sim: WeComSimulator, provider: Provider) -> str:
    config = requests.get(f"{sim.api_base}/_sim/suite").json()["config"]
    answer = cgi(sim, "POST", "/service/get_suite_token", {"suite_id": config["suite_id"],
                                                          "suite_secret": config["suite_secret"],
                                                          "suite_ticket": provider.ticket})
    assert answer["errcode"] == 0 and answer["expires_in"] == 7200
    return answer["suite_access_token"]


def installed(sim: WeComSimulator, provider: Provider, corp_id: str = DEMO) -> dict[str, Any]:
    """Install the app in ``corp_id`` and buy the permanent code as dutybridge does on create_auth."""
    assert control(sim, "suite/install", {"corp_id": corp_id})["ok"]
    code = provider.instructions[-1][2].findtext("AuthCode")
    answer = cgi(sim, "POST", "/service/get_permanent_code", {"auth_code": code},
                 suite_access_token=suite_token(sim, provider))
    assert answer["errcode"] == 0, answer
    return answer


def corp_token(sim: WeComSimulator, provider: Provider, corp_id: str, permanent_code: str) -> dict[str, Any]:
    return cgi(sim, "POST", "/service/get_corp_token", {"auth_corpid": corp_id, "permanent_code": permanent_code},
               suite_access_token=suite_token(sim, provider))


def home_token(sim: WeComSimulator) -> str:
    """The self-built app's token, from gettoken."""
    query = {"corpid": sim.corp.corp_id, "corpsecret": sim.corp.secret}
    return requests.get(f"{sim.api_base}/cgi-bin/gettoken", params=query).json()["access_token"]


def card(task_id: str = "db3rd42") -> dict[str, Any]:
    return {"card_type": "button_interaction", "task_id": task_id, "main_title": {"title": "[P1] DB latency high"},
            "button_list": [{"text": "认领 Ack", "style": 1, "key": "ack/0/42"}]}


# --- console: values, URL checks, tickets --------------------------------------------------------------------------
def test_console_values_fit_the_providers_form(sim: WeComSimulator) -> None:
    values = requests.get(f"{sim.api_base}/_sim/suite").json()
    suite = sim.suite.suite
    assert values["config"] == {"provider_corp_id": suite.provider_corp_id, "suite_id": suite.suite_id,
                                "suite_secret": suite.suite_secret, "token": suite.token,
                                "encoding_aes_key": suite.encoding_aes_key, "api_base": sim.api_base}
    assert suite.suite_id.startswith("ww") and len(suite.encoding_aes_key) == 43 and len(suite.token) <= 32


def test_saving_the_urls_checks_both_and_pushes_a_ticket(sim: WeComSimulator, provider: Provider) -> None:
    saved = connected(sim, provider)
    suite = sim.suite.suite
    assert provider.checks == [suite.provider_corp_id.encode()] * 2  # URL checks: the provider's CorpID, both
    assert saved["instructionUrl"] == saved["dataUrl"] == provider.url and saved["ticketPush"]["ok"]
    query, outer, inner = provider.instructions[-1]
    assert set(query) == {"msg_signature", "timestamp", "nonce"}
    assert outer.findtext("ToUserName") == suite.suite_id and outer.findtext("AgentID") == ""
    assert [inner.findtext(n) for n in ("SuiteId", "InfoType")] == [suite.suite_id, "suite_ticket"]
    assert inner.findtext("TimeStamp").isdigit() and inner.findtext("SuiteTicket") == saved["ticketPush"]["ticket"]


def test_a_url_that_does_not_echo_is_not_saved(sim: WeComSimulator) -> None:
    refused = control(sim, "suite/console/callback-url", {"url": "http://127.0.0.1:9/nothing"})
    assert not refused["ok"] and "instruction" in refused["error"] and sim.suite.suite.instruction_url is None


def test_instructions_want_the_bare_success(sim: WeComSimulator, provider: Provider) -> None:
    connected(sim, provider)
    provider.instruction_reply = "ok"
    pushed = control(sim, "suite/push-ticket")
    assert not pushed["ok"] and len(pushed["attempts"]) == 3 and "'success'" in pushed["attempts"][0]["error"]


def test_suite_token_from_a_pushed_ticket(sim: WeComSimulator, provider: Provider, clock: Clock) -> None:
    connected(sim, provider)
    token = suite_token(sim, provider)
    assert suite_token(sim, provider) == token  # the same token while it is valid
    base = {"suite_id": sim.suite.suite.suite_id, "suite_secret": sim.suite.suite.suite_secret,
            "suite_ticket": provider.ticket}

    def get(**change: str) -> int:
        return cgi(sim, "POST", "/service/get_suite_token", {**base, **change})["errcode"]

    assert get(suite_secret="wrong") == 40080 and get(suite_id="wwnope") == 40083
    assert get(suite_ticket="forged") == 40085 and get(suite_ticket="") == 41023
    clock.t += 600
    control(sim, "suite/push-ticket")
    assert get() == 0  # an older ticket still lives its 30 minutes
    clock.t += 1201
    assert get() == 40085 and get(suite_ticket=provider.ticket) == 0


def test_the_suite_token_is_checked_like_corp_tokens(sim: WeComSimulator, provider: Provider, clock: Clock) -> None:
    connected(sim, provider)
    token = suite_token(sim, provider)
    body = {"auth_code": "x"}
    assert cgi(sim, "POST", "/service/get_permanent_code", body)["errcode"] == 41022
    assert cgi(sim, "POST", "/service/get_permanent_code", body, suite_access_token="forged")["errcode"] == 40082
    clock.t += 7201
    assert cgi(sim, "POST", "/service/get_permanent_code", body, suite_access_token=token)["errcode"] == 42009
    # a corp access_token is not a suite token, nor the other way round
    assert cgi(sim, "POST", "/message/send", {}, access_token=token)["errcode"] == 40014


# --- installs, permanent codes, corp tokens --------------------------------------------------------------------------
def test_install_pushes_create_auth_and_the_auth_code_buys_the_permanent_code_once(sim: WeComSimulator,
                                                                                   provider: Provider) -> None:
    connected(sim, provider)
    done = control(sim, "suite/install", {"corp_id": DEMO, "state": "s1"})
    assert done["ok"] and done["agentId"] == str(DEMO_AGENT)
    _, outer, inner = provider.instructions[-1]
    assert outer.findtext("ToUserName") == sim.suite.suite.suite_id
    assert [inner.findtext(n) for n in ("SuiteId", "InfoType", "AuthCode", "State")] == [
        sim.suite.suite.suite_id, "create_auth", done["authCode"], "s1"]
    token = suite_token(sim, provider)
    answer = cgi(sim, "POST", "/service/get_permanent_code", {"auth_code": done["authCode"]}, suite_access_token=token)
    assert answer["errcode"] == 0 and answer["permanent_code"] and answer["access_token"]
    assert answer["expires_in"] == 7200 and answer["state"] == "s1"
    corp = answer["auth_corp_info"]
    assert corp["corpid"] == DEMO and corp["corp_name"].startswith("示例科技")
    assert answer["auth_info"]["agent"][0]["agentid"] == DEMO_AGENT and answer["auth_user_info"]["userid"] == "ZhaoLei"
    again = cgi(sim, "POST", "/service/get_permanent_code", {"auth_code": done["authCode"]}, suite_access_token=token)
    assert again["errcode"] == 40078
    assert control(sim, "suite/install", {"corp_id": DEMO})["error"].endswith("installed the app already")


def test_auth_codes_live_five_minutes(sim: WeComSimulator, provider: Provider, clock: Clock) -> None:
    connected(sim, provider)
    code = control(sim, "suite/install", {"corp_id": sim.corp.corp_id})["authCode"]
    clock.t += 301
    control(sim, "suite/push-ticket")
    answer = cgi(sim, "POST", "/service/get_permanent_code", {"auth_code": code},
                 suite_access_token=suite_token(sim, provider))
    assert answer["errcode"] == 40078


def test_corp_token_sends_as_the_suites_app(sim: WeComSimulator, provider: Provider) -> None:
    connected(sim, provider)
    granted = installed(sim, provider)
    token = corp_token(sim, provider, DEMO, granted["permanent_code"])
    assert token["errcode"] == 0 and token["access_token"] == granted["access_token"]
    send = {"touser": "ZhaoLei", "msgtype": "text", "agentid": DEMO_AGENT, "text": {"content": "hi"}}
    assert cgi(sim, "POST", "/message/send", send, access_token=token["access_token"])["errcode"] == 0
    assert cgi(sim, "POST", "/message/send", {**send, "agentid": 1000002},
               access_token=token["access_token"])["errcode"] == 40056
    home = home_token(sim)
    assert cgi(sim, "POST", "/message/send", {**send, "agentid": 1000002}, access_token=home)["errcode"] == 81013
    found = cgi(sim, "POST", "/user/getuserid", {"mobile": "13800000002"}, access_token=token["access_token"])
    assert found["userid"] == "SunLi"
    chat = {"userlist": ["ZhaoLei", "SunLi"], "name": "war room"}
    assert cgi(sim, "POST", "/appchat/create", chat, access_token=token["access_token"])["errcode"] == 48002
    state = requests.get(f"{sim.api_base}/_sim/state").json()
    assert state["suite"]["spaces"][f"3rd:{DEMO}:user:ZhaoLei"][0]["content"] == {"content": "hi"}
    assert "user:ZhaoLei" not in state["spaces"]


def test_corp_token_refusals(sim: WeComSimulator, provider: Provider) -> None:
    connected(sim, provider)
    granted = installed(sim, provider)
    assert corp_token(sim, provider, DEMO, "wrong")["errcode"] == 40084
    assert corp_token(sim, provider, sim.corp.corp_id, granted["permanent_code"])["errcode"] == 40084
    assert corp_token(sim, provider, DEMO, "")["errcode"] == 41025


def test_uninstall_pushes_cancel_auth_and_revokes(sim: WeComSimulator, provider: Provider) -> None:
    connected(sim, provider)
    granted = installed(sim, provider)
    done = control(sim, "suite/uninstall", {"corp_id": DEMO})
    assert done["ok"]
    inner = provider.instructions[-1][2]
    assert [inner.findtext(n) for n in ("InfoType", "AuthCorpId")] == ["cancel_auth", DEMO]
    assert corp_token(sim, provider, DEMO, granted["permanent_code"])["errcode"] == 40084
    send = {"touser": "ZhaoLei", "msgtype": "text", "agentid": DEMO_AGENT, "text": {"content": "hi"}}
    assert cgi(sim, "POST", "/message/send", send, access_token=granted["access_token"])["errcode"] == 40014
    again = installed(sim, provider)  # installing again authorises afresh
    assert again["permanent_code"] != granted["permanent_code"]


def test_a_member_leaving_an_organisation_is_pushed_as_change_contact_and_sends_to_them_fail(
        sim: WeComSimulator, provider: Provider) -> None:
    connected(sim, provider)
    granted = installed(sim, provider)
    done = control(sim, "users/ZhaoLei/leave", {"corp_id": DEMO})
    assert done["ok"] and done["pushed"] == ["suite"]
    inner = provider.instructions[-1][2]
    assert [inner.findtext(n) for n in ("InfoType", "AuthCorpId", "ChangeType", "UserID")] == [
        "change_contact", DEMO, "delete_user", "ZhaoLei"]
    send = {"touser": "ZhaoLei", "msgtype": "text", "agentid": DEMO_AGENT, "text": {"content": "hi"}}
    answer = cgi(sim, "POST", "/message/send", send, access_token=granted["access_token"])
    assert answer["errcode"] == 81013 and answer["invaliduser"] == "ZhaoLei"
    assert control(sim, "users/ZhaoLei/leave", {"corp_id": DEMO})["ok"] is False  # gone already


# --- web sign-in and data callbacks ---------------------------------------------------------------------------------
def test_web_sign_in_with_the_suite_id(sim: WeComSimulator, provider: Provider) -> None:
    connected(sim, provider)
    installed(sim, provider)
    control(sim, "suite/console/trusted-domain", {"domain": provider.host})
    link = {"appid": sim.suite.suite.suite_id, "redirect_uri": f"http://{provider.host}/oauth/cb",
            "response_type": "code", "scope": "snsapi_base", "state": "s1"}

    def code_for(userid: str) -> str:
        hop = requests.get(f"{sim.oauth_base}/connect/oauth2/authorize", params={**link, "sim_user": userid},
                           allow_redirects=False)
        assert hop.status_code == 302, hop.text
        return parse_qs(urlsplit(hop.headers["Location"]).query)["code"][0]

    token = suite_token(sim, provider)
    code = code_for("ZhaoLei")
    who = cgi(sim, "GET", "/service/auth/getuserinfo3rd", suite_access_token=token, code=code)
    assert who["errcode"] == 0 and (who["corpid"], who["userid"]) == (DEMO, "ZhaoLei")
    assert cgi(sim, "GET", "/service/auth/getuserinfo3rd", suite_access_token=token, code=code)["errcode"] == 40029
    # the suite's codes are not the self-built app's, and members of corps without the app cannot sign in
    home = home_token(sim)
    assert cgi(sim, "GET", "/auth/getuserinfo", access_token=home, code=code_for("SunLi"))["errcode"] == 40029
    chooser = requests.get(f"{sim.oauth_base}/connect/oauth2/authorize", params={**link, "sim_user": "ZhangWei"})
    assert chooser.status_code == 200 and "ZhaoLei" in chooser.text and "ZhangWei" not in chooser.text
    wrong = requests.get(f"{sim.oauth_base}/connect/oauth2/authorize",
                         params={**link, "redirect_uri": "http://elsewhere.example/cb"})
    assert "50001" in wrong.text


def test_a_click_on_the_suites_card_reaches_the_suite_url_encrypted_for_the_corp(sim: WeComSimulator,
                                                                                 provider: Provider) -> None:
    control(sim, "suite/console/callback-url", {"url": provider.url + "?corp=$CORPID$"})
    granted = installed(sim, provider)
    token = corp_token(sim, provider, DEMO, granted["permanent_code"])["access_token"]
    sent = cgi(sim, "POST", "/message/send", {"touser": "ZhaoLei", "msgtype": "template_card", "agentid": DEMO_AGENT,
                                              "template_card": card()}, access_token=token)
    assert sent["errcode"] == 0 and sent["response_code"]
    clicked = control(sim, "click", {"userid": "ZhaoLei", "task_id": "db3rd42", "key": "ack/0/42"})
    assert clicked["ok"], clicked
    query, outer, inner = provider.data[-1]
    assert query["corp"] == DEMO
    assert (outer.findtext("ToUserName"), outer.findtext("AgentID")) == (DEMO, str(DEMO_AGENT))
    assert [inner.findtext(n) for n in ("ToUserName", "FromUserName", "Event", "EventKey", "TaskId", "AgentID")] == [
        DEMO, "ZhaoLei", "template_card_event", "ack/0/42", "db3rd42", str(DEMO_AGENT)]
    with pytest.raises(CallbackRejected):  # not readable as an instruction (receive id = SuiteID)
        provider.crypt(sim.suite.suite.suite_id).decrypt(outer.findtext("Encrypt"))
    # the click's response code updates the card through the corp token
    update = {"userids": ["ZhaoLei"], "agentid": DEMO_AGENT, "response_code": inner.findtext("ResponseCode"),
              "button": {"replace_name": "已认领"}}
    assert cgi(sim, "POST", "/message/update_template_card", update, access_token=token)["errcode"] == 0


def test_the_home_corp_can_use_both_apps(sim: WeComSimulator, provider: Provider) -> None:
    connected(sim, provider)
    granted = installed(sim, provider, sim.corp.corp_id)
    assert granted["auth_info"]["agent"][0]["agentid"] == HOME_AGENT
    token = corp_token(sim, provider, sim.corp.corp_id, granted["permanent_code"])["access_token"]
    assert cgi(sim, "POST", "/message/send", {"touser": "ZhangWei", "msgtype": "template_card", "agentid": HOME_AGENT,
                                              "template_card": card("same")}, access_token=token)["errcode"] == 0
    said = control(sim, "send-text", {"userid": "ZhangWei", "corp_id": sim.corp.corp_id, "content": "hello"})
    assert said["ok"] and provider.data[-1][1].findtext("AgentID") == str(HOME_AGENT)
    assert control(sim, "click", {"userid": "ZhangWei", "task_id": "same", "key": "ack/0/42"})["ok"]
    assert provider.data[-1][2].findtext("ToUserName") == sim.corp.corp_id


def test_page_shows_the_suite(sim: WeComSimulator) -> None:
    page = requests.get(f"{sim.api_base}/").text
    assert "服务商 Suite" in page and "suite/install" in page and "suite-ticket" in page
    state = requests.get(f"{sim.api_base}/_sim/state").json()["suite"]
    assert [o["corpId"] for o in state["orgs"]] == [sim.corp.corp_id, DEMO] and state["orgs"][1]["install"] is None
