"""WeCom third-party mode (第三方应用): the operator's suite, its tickets, and organisations' grants.

Console (服务商后台): the provider's own CorpID (应用管理 → 通用开发参数), and the suite's SuiteID, Secret,
Token and EncodingAESKey (应用管理 → 第三方应用); the 指令回调 and 数据回调 URLs both point at
``/callbacks/wecom-suite``. Every callback is signed and encrypted with the suite's Token and key; the
receive id inside the envelope tells who it is for, and each kind is checked against exactly one:
- the console's URL checks (GET with ``echostr``, for either URL): the provider's CorpID;
- instruction callbacks (指令回调, outer ToUserName = SuiteID): the SuiteID. ``suite_ticket`` every
  10 minutes, ``create_auth`` when an organisation installs the app (its AuthCode buys the permanent
  code), ``cancel_auth`` when it uninstalls the app (取消授权通知, document 90642: SuiteId, InfoType,
  TimeStamp, AuthCorpId): the grant is marked cancelled, never deleted with its integration, so deliveries
  and the integration's health say why nothing goes through;
- data callbacks (数据回调: an organisation's events and card clicks, outer ToUserName = its CorpID): the
  installing organisation's CorpID, handled by that organisation's integration.
(加解密方案说明 and 回调通知 in the 第三方应用 docs; WeCom staff in the developer community: URL checks
with the provider's corpid, 数据回调 with the authorising corp's, 指令回调 with the suiteid.)
Tokens: ``service/get_suite_token`` from the latest ticket, then ``service/get_corp_token`` per
organisation from its permanent code.
"""
from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.common import clock, sealing
from chalicelib.common.config import settings
from chalicelib.common.errors import CallbackRejected, NotFound, Permanent
from chalicelib.core.callback import ChatEvents, InboundRequest, Reply
from chalicelib.platforms import tokens
from chalicelib.platforms.base import Opening, Provider, Routed
from chalicelib.platforms.msgcrypt import MsgCrypt
from chalicelib.platforms.wecom import api, contact
from chalicelib.platforms.wecom.xml import open_envelope, text, xml
from chalicelib.store import ephemeral, providers
from chalicelib.store import health as health_store

SUITE = "wecom-suite"
TICKET_SECONDS = 30 * 60
SUCCESS = Reply(body="success", content_type="text/plain")
CANCELLED = "授权已取消 (authorisation cancelled: the organisation uninstalled the app; it must authorise it again)"


class SuiteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider_corp_id: str = Field(min_length=1)  # the provider's own CorpID: the receive id of URL checks
    suite_id: str = Field(min_length=1)
    suite_secret: str = Field(min_length=1)
    token: str = Field(min_length=1, max_length=32)
    encoding_aes_key: str = Field(min_length=43, max_length=43)
    api_base: str = "https://qyapi.weixin.qq.com"


def load() -> SuiteConfig:
    item = providers.get(SUITE)
    if item is None:
        raise NotFound("no WeCom suite is configured (PUT /providers/wecom-suite)")
    return SuiteConfig(**sealing.unseal(item["sealed"]))


def crypt(owner: str) -> MsgCrypt:
    config = load()
    return MsgCrypt(config.token, config.encoding_aes_key, owner)


# -- tokens ---------------------------------------------------------------------------------
def suite_token() -> str:
    return tokens.get(f"{SUITE}#suite", _fetch_suite_token, 300)


def _fetch_suite_token() -> tuple[str, int]:
    config, ticket = load(), ephemeral.get(f"{SUITE}#ticket")
    if ticket is None:
        raise Permanent("wecom", "suite_ticket.missing",
                        "尚未收到 suite_ticket (no suite_ticket yet: check the 指令回调 URL)")
    data = api.call("POST", config.api_base + "/cgi-bin/service/get_suite_token", None, {
        "suite_id": config.suite_id, "suite_secret": config.suite_secret, "suite_ticket": ticket["ticket"]})
    return data["suite_access_token"], int(data.get("expires_in", 7200))


def suite_call(method: str, path: str, body: dict | None = None, params: dict | None = None) -> dict:
    """A call made with the suite's own token (``suite_access_token``)."""
    base = load().api_base
    return api.call(method, base + path, None, body, {**(params or {}), "suite_access_token": suite_token()})


def grant(corp_id: str) -> dict:
    """The organisation's authorisation; 'authorize app first' (seed FAQ 1) when it never installed the app."""
    item = providers.get(f"{SUITE}#grant#{corp_id}")
    if item is None:
        raise Permanent("wecom", "authorize app first",
                        "企业尚未安装应用 (the organisation has not installed the app: authorize app first)")
    if item.get("cancelled_at"):
        raise Permanent("wecom", "cancel_auth", f"{CANCELLED}, {item['cancelled_at']}")
    return {**item, **sealing.unseal(item["sealed"])}


def corp_token(corp_id: str) -> tuple[str, int]:
    data = suite_call("POST", "/cgi-bin/service/get_corp_token",
                      {"auth_corpid": corp_id, "permanent_code": grant(corp_id)["permanent_code"]})
    return data["access_token"], int(data.get("expires_in", 7200))


def integration_id(corp_id: str) -> str:
    return "int_" + hashlib.sha1(f"{SUITE}#{corp_id}".encode()).hexdigest()[:12]


# -- the provider ---------------------------------------------------------------------------
class Suite(Provider):
    """``/providers/wecom-suite`` and ``/callbacks/wecom-suite``."""

    name = SUITE
    Config = SuiteConfig

    def save(self, config: SuiteConfig) -> dict:
        providers.put({"id": SUITE, "suite_id": config.suite_id, "api_base": config.api_base,
                       "sealed": sealing.seal(config.model_dump()), "updated_at": clock.iso()})
        return self.view()

    def view(self) -> dict:
        config = load()
        url = f"{settings().public_base_url}/callbacks/{SUITE}"
        return {"suite_id": config.suite_id, "provider_corp_id": config.provider_corp_id, "api_base": config.api_base,
                "credentials": {k: sealing.mask(getattr(config, k))
                                for k in ("suite_secret", "token", "encoding_aes_key")},
                "urls": {"instruction_callback": url, "data_callback": url},
                "ticket_received": ephemeral.get(f"{SUITE}#ticket") is not None}

    def route(self, request: InboundRequest) -> Routed:
        """Answer a URL check or an instruction here, or name the integration a data callback belongs to
        (which opens it with that organisation's CorpID as the receive id)."""
        try:
            config = load()
        except NotFound as exc:
            raise CallbackRejected("no WeCom suite is configured") from exc
        if request.method == "GET":
            echo = open_envelope(crypt(config.provider_corp_id), request.query, request.query.get("echostr", ""))
            return Routed(reply=Reply(body=echo, content_type="text/plain"))
        outer = xml(request.body)
        receiver = text(outer, "ToUserName")
        if receiver != config.suite_id:
            return Routed(integration_id=integration_id(receiver))
        instruction = xml(open_envelope(crypt(config.suite_id), request.query, text(outer, "Encrypt")))
        if text(instruction, "InfoType") == contact.CHANGE:
            return _contact_change(instruction, config)
        return Routed(reply=SUCCESS, opened=_apply(instruction, config))


def _apply(instruction, config: SuiteConfig) -> Opening | None:
    if text(instruction, "SuiteId") != config.suite_id:
        raise CallbackRejected("instruction for another suite")
    kind = text(instruction, "InfoType")
    if kind == "suite_ticket":
        ephemeral.put(f"{SUITE}#ticket", TICKET_SECONDS, ticket=_required(instruction, "SuiteTicket"))
    elif kind == "create_auth":
        return _authorised(_required(instruction, "AuthCode"), config)
    elif kind == "cancel_auth":
        _cancelled(_required(instruction, "AuthCorpId"))
    return None


def _contact_change(instruction, config: SuiteConfig) -> Routed:
    """An organisation's 通讯录变更 comes to the 指令回调 URL: a departure is applied to its integration,
    once (the instruction has no id: its time, change and member name it)."""
    if text(instruction, "SuiteId") != config.suite_id:
        raise CallbackRejected("instruction for another suite")
    corp_id = _required(instruction, "AuthCorpId")
    departures = contact.departures(instruction, kind_field="InfoType")
    key = "#".join(text(instruction, name) for name in ("TimeStamp", "ChangeType", "UserID"))
    return Routed(integration_id=integration_id(corp_id),
                  events=ChatEvents(reply=SUCCESS, dedupe_key=key, departures=departures))


def _required(instruction, name: str) -> str:
    value = text(instruction, name)
    if not value:
        raise CallbackRejected(f"instruction without {name}")
    return value


def _cancelled(corp_id: str) -> None:
    """cancel_auth: the permanent code and the corp's token are dropped (WeCom revoked both); the grant stays,
    marked, and the integration's health turns failing at once."""
    grant_id, integration = f"{SUITE}#grant#{corp_id}", integration_id(corp_id)
    item = providers.get(grant_id) or {"id": grant_id, "corp_id": corp_id}
    providers.put({**{k: v for k, v in item.items() if k != "sealed"}, "cancelled_at": clock.iso()})
    tokens.forget(f"{integration}#app")
    health_store.put_summary(integration, {"state": "failing", "checked_at": clock.iso(),
                                           "problems": [f"{CANCELLED}, {clock.iso()}"]})


def _authorised(auth_code: str, config: SuiteConfig) -> Opening:
    """create_auth: buy the permanent code; the organisation's integration is to be opened."""
    data = suite_call("POST", "/cgi-bin/service/get_permanent_code", {"auth_code": auth_code})
    corp = data.get("auth_corp_info", {})
    agents = data.get("auth_info", {}).get("agent", [])
    providers.put({"id": f"{SUITE}#grant#{corp['corpid']}", "corp_id": corp["corpid"],
                   "corp_name": corp.get("corp_name", ""), "agent_id": str(agents[0]["agentid"]) if agents else "",
                   "sealed": sealing.seal({"permanent_code": data["permanent_code"]}), "granted_at": clock.iso()})
    return Opening("wecom", integration_id(corp["corpid"]), corp.get("corp_name") or corp["corpid"],
                   {"corp_id": corp["corpid"]}, {"mode": "third_party", "api_base": config.api_base})
