"""WeCom (企业微信) self-built app: template cards, the encrypted XML callback, OAuth sign-in.

Console (work.weixin.qq.com/wework_admin): 企业 ID (我的企业), AgentId and Secret (应用管理 → 应用),
Token and EncodingAESKey (接收消息 → 设置API接收), the trusted domain (网页授权及 JS-SDK).
API: qyapi.weixin.qq.com (``api_base`` for private deployments), token in ``?access_token=``.
Callback: SHA-1 signature + AES-256-CBC envelope (msgcrypt.py) with the CorpID as receive id;
GET verification answers the decrypted ``echostr`` as the bare body within 1 s; POST bodies are
encrypted XML (parsed with defusedxml), answered within 5 s. Button clicks arrive here as
``template_card_event`` with a fresh single-use ResponseCode (72 h) for one more card update.
War room (作战室, self-built mode with settings.war_room): appchat/create under a chatid derived from the
incident; app groups cannot carry button cards, so the group gets summaries and responders 1:1 cards.
Limits: 30 messages/min and 1000/h per member from one app (excess silently dropped), 45009 blocks.
Docs: developer.work.weixin.qq.com (发送应用消息, 模板卡片事件推送, 更新模版卡片消息, 加解密方案).
"""
from __future__ import annotations

import hashlib
from urllib.parse import quote
from xml.etree.ElementTree import Element

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.common import clock
from chalicelib.common.errors import CallbackRejected, InvalidInput, Permanent, PlatformError, TargetGone
from chalicelib.common.fetch import Picture
from chalicelib.core.callback import (
    CARD_BUTTONS,
    FOUND_SENT,
    Callback,
    CardId,
    ChatEvents,
    Click,
    ClickAnswer,
    ClickOutcome,
    Endpoint,
    Handshake,
    InboundRequest,
    Intent,
    PlatformUser,
    Reply,
    Room,
    RoomPlan,
)
from chalicelib.core.cards import Card, Preview
from chalicelib.platforms.base import Adapter, CommonSettings, Window
from chalicelib.platforms.inbound import stamp
from chalicelib.platforms.msgcrypt import MsgCrypt
from chalicelib.platforms.wecom import api, suite
from chalicelib.platforms.wecom.cards import (
    MAX_LINES,
    SUMMARY_BYTES,
    fitted,
    parse_key,
    render,
    summary,
    summary_shown,
    summary_text,
)
from chalicelib.platforms.wecom.xml import open_envelope, text, xml

CARD_EVENTS = {"template_card_event", "template_card_menu_event"}
CODE_LIFETIME = 72 * 3600
EMPTY = Reply(body="", content_type="text/plain")
CHAT_NAME_MAX = 50
CHAT_EXISTS = "86215"
TASK_ID_USED = "42014"  # message/send: "taskid has existed or empty or exceed max len"
USER_ID_BYTES = 64  # a member's UserID is 1 to 64 bytes
BUTTONS = CARD_BUTTONS | {Intent.refresh}  # the card's own 状态刷新 earns it a fresh update code


class TaskId(CardId):
    """A 1:1 card is known by the ``task_id`` it was sent with; a click names it in ``TaskId``."""

    ref_key = "task_id"


class Credentials(BaseModel):
    """Self-built mode needs all of them; third-party mode only the CorpID (the suite has the rest)."""

    model_config = ConfigDict(extra="forbid")
    corp_id: str = Field(min_length=1)
    agent_id: str = Field(default="", pattern=r"^\d*$")
    secret: str = ""
    token: str = Field(default="", max_length=32)
    encoding_aes_key: str = Field(default="", pattern=r"^([A-Za-z0-9]{43})?$")


class Settings(CommonSettings):
    mode: str = Field(default="self_built", pattern="^(self_built|third_party)$")
    api_base: str = "https://qyapi.weixin.qq.com"
    oauth_base: str = "https://open.weixin.qq.com"
    trusted_domain: str = ""
    verify_file: str = Field(default="", pattern=r"^(WW_verify_[A-Za-z0-9]+\.txt)?$")
    verify_content: str = Field(default="", max_length=128)
    war_room: bool = False  # 增强功能 → 开启作战室 (seed 003 §三)


class WeCom(Adapter):
    name = "wecom"
    label = ("企业微信", "WeCom")
    editions = {"standard": (None, None)}
    token_families = ("app",)
    providers = (suite.Suite,)
    Credentials = Credentials
    Settings = Settings
    secret_field = "secret"
    # WeCom blocks user/getuserid for a day once unknown-mobile lookups pass 20% of the licensed
    # headcount; a linking run stops well before that on small orgs too.
    mobile_miss_limit = 10
    # A button_interaction card has no picture of its own (模板卡片类型: card_image belongs to news_notice), so the
    # picture goes through 上传图片 (media/uploadimg: JPG or PNG, 5 B to 2 MB, a URL that lasts) and a content
    # line of type 1 opens it; a notice card (news_notice) shows it as its card_image.
    image_max_bytes = 2 * 1024 * 1024
    image_types = frozenset({"image/png", "image/jpeg"})
    credentials: Credentials
    settings: Settings

    def _url(self, path: str) -> str:
        return self.settings.api_base.rstrip("/") + path

    @classmethod
    def assigned_id(cls, credentials: Credentials, settings: Settings) -> str | None:
        """Third-party integrations are opened by the organisation's authorisation; saving one claims it."""
        return suite.integration_id(credentials.corp_id) if settings.mode == "third_party" else None

    @property
    def third_party(self) -> bool:
        return self.settings.mode == "third_party"

    @property
    def agent_id(self) -> int:
        return int(suite.grant(self.credentials.corp_id)["agent_id"] if self.third_party else self.credentials.agent_id)

    def check_credentials(self) -> None:
        missing = [] if self.third_party else [
            name for name in ("agent_id", "secret", "token", "encoding_aes_key") if not getattr(self.credentials, name)]
        if missing:
            raise Permanent(self.name, "credentials.missing", f"self-built mode needs {', '.join(missing)}")
        self.fetch_token("app")
        if not self.third_party:
            self._check_agent()

    def _check_agent(self) -> None:
        """获取指定的应用详情 (agent/get) answers only for the token's own app ("企业仅可获取当前凭证对应的应用"):
        40056 不合法的agentid means the AgentId is not the app of this Secret. Not counted (no monthly budget
        here) and not a message. Other refusals (60020 until the egress IPs are trusted, which needs the callback
        URL this save answers with) leave the save to go on; the test card shows them."""
        agent_id = self.credentials.agent_id
        try:
            self.with_token("app", lambda token: api.call("GET", self._url("/cgi-bin/agent/get"), token,
                                                          params={"agentid": agent_id}))
        except PlatformError as exc:
            if exc.platform_code == api.AGENT_UNKNOWN:
                raise InvalidInput(f"credentials.agent_id: WeCom has no app {agent_id} for this Secret "
                                   f"({exc.platform_code}); copy the AgentId and Secret of the same app from "
                                   f"应用管理 → 应用") from exc

    def fetch_token(self, family: str) -> tuple[str, int]:
        if self.third_party:
            return suite.corp_token(self.credentials.corp_id)
        data = api.call("GET", self._url("/cgi-bin/gettoken"), None, params={
            "corpid": self.credentials.corp_id, "corpsecret": self.credentials.secret})
        return data["access_token"], int(data.get("expires_in", 7200))

    def _api(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> dict:
        return self.counted(f"{method} {path}", lambda token: api.call(method, self._url(path), token, body, params))

    def urls(self, base: str) -> dict[str, str]:
        callback = (f"{base}/callbacks/{suite.SUITE}" if self.third_party
                    else f"{base}/callbacks/{self.integration_id}/events")
        return {"callback": callback,
                "oauth_redirect": f"{base}/oauth/{self.integration_id}/callback",
                "web_home": f"{base}/app/{self.integration_id}"}

    # -- pacing -----------------------------------------------------------------------------
    def windows(self, operation: str, kind: str, target: str, ref: dict | None = None) -> list[Window]:
        """App messages to one member: 30/min and 1000/h. WeCom drops the excess silently, so these
        windows are the only thing standing between a storm and lost cards."""
        if operation != "send" or kind != "user":
            return []
        member = f"{self.integration_id}#member#{target}"
        return [Window(member, 30, 60), Window(member, 1000, 3600)]

    # -- cards ------------------------------------------------------------------------------
    def send_card(self, kind: str, target: str, card: Card, card_key: str) -> dict:
        if kind == "chat":
            self._post_summary(target, card)
            return {"chat_id": target}
        task_id = "db" + hashlib.sha1(card_key.encode()).hexdigest()[:30]
        try:
            data = self._api("POST", "/cgi-bin/message/send",
                             self._template_card(target, render(self.offered(card), task_id)))
        except Permanent as exc:
            if exc.platform_code != TASK_ID_USED:
                raise
            return self._found_sent(task_id, target)
        self._check_recipient(data, target)
        return {**TaskId(task_id).entry(), "user": target, "response_code": data.get("response_code"),
                "code_at": int(clock.now())}

    @staticmethod
    def _found_sent(task_id: str, target: str) -> dict:
        """42014 for this card's own task_id (derived from the card key, used by no other card): an earlier
        attempt reached WeCom though its answer did not reach us, so the card exists. Its update code was
        in that lost answer; the next click on the card (状态刷新 is there for it) brings a fresh one."""
        return {**TaskId(task_id).entry(), "user": target, "response_code": None, "code_at": None, FOUND_SENT: True}

    def _check_recipient(self, data: dict, target: str) -> None:
        if target in str(data.get("unlicenseduser", "")).split("|"):
            raise Permanent(self.name, "unlicenseduser", "未开通企微许可 (the member has no WeCom API licence)")
        if target in str(data.get("invaliduser", "")).split("|"):
            raise TargetGone(self.name, "invaliduser", "成员不存在或不在应用可见范围 (not in the app's visibility)")

    def preview(self, kind: str, card: Card) -> Preview:
        if kind == "chat":
            shown = summary_shown(card)
            body = self._summary("preview", summary_text(shown))
            return Preview(body, len(body["markdown"]["content"].encode()), SUMMARY_BYTES,
                           "bytes of the group summary's markdown", shown)
        shown = fitted(self.offered(card))
        body = self._template_card("preview", render(shown, "preview"))
        return Preview(body, len(body["template_card"]["horizontal_content_list"]), MAX_LINES - 2,
                       "content lines of the template card (horizontal_content_list)", shown)

    def _summary(self, chat_id: str, markdown: str) -> dict:
        return {"chatid": chat_id, "msgtype": "markdown", "markdown": {"content": markdown}}

    def _template_card(self, user_id: str, template_card: dict) -> dict:
        return {"touser": user_id, "msgtype": "template_card", "agentid": self.agent_id,
                "template_card": template_card, "enable_duplicate_check": 0}

    def _post_summary(self, chat_id: str, card: Card) -> None:
        self._api("POST", "/cgi-bin/appchat/send", self._summary(chat_id, summary(card)))

    def update_card(self, ref: dict, card: Card) -> dict:
        """Spend the card's single-use update code; without a live one, the card's refresh button is the way."""
        if "chat_id" in ref:
            self._post_summary(ref["chat_id"], card)
            return ref
        code, issued = ref.get("response_code"), ref.get("code_at") or 0
        if not code or clock.now() - issued > CODE_LIFETIME:
            raise Permanent(self.name, "response_code.spent",
                            "卡片更新次数已用完，可点击「状态刷新」"
                            "(update budget spent; the card's Refresh button renews it)")
        self._api("POST", "/cgi-bin/message/update_template_card", {
            "userids": [ref["user"]], "agentid": self.agent_id, "response_code": code,
            "template_card": render(self.offered(card), ref["task_id"])})
        return {**ref, "response_code": None, "code_at": None}

    def upload_image(self, picture: Picture) -> str:
        """上传图片: multipart ``media``; answers the picture's lasting ``url``."""
        return str(self.counted("POST /cgi-bin/media/uploadimg", lambda token: api.call(
            "POST", self._url("/cgi-bin/media/uploadimg"), token, files={"media": picture.part()}))["url"])

    # -- inbound ----------------------------------------------------------------------------
    def _crypt(self) -> MsgCrypt:
        """Self-built: the app's own Token/EncodingAESKey; third-party: the suite's, for this CorpID."""
        if self.third_party:
            return suite.crypt(self.credentials.corp_id)
        return MsgCrypt(self.credentials.token, self.credentials.encoding_aes_key, self.credentials.corp_id)

    def parse_callback(self, request: InboundRequest, endpoint: Endpoint) -> Callback:
        """One callback URL for everything: the GET check, and encrypted events, card clicks among them."""
        if endpoint is Endpoint.card:
            raise CallbackRejected("WeCom delivers card clicks to the callback URL")
        if request.method == "GET":
            plain = open_envelope(self._crypt(), request.query, request.query.get("echostr", ""))
            return Handshake(Reply(body=plain, content_type="text/plain"))
        message = xml(open_envelope(self._crypt(), request.query, text(xml(request.body), "Encrypt")))
        if text(message, "ToUserName") != self.credentials.corp_id:
            raise CallbackRejected("message is for another organisation")
        sender, created, key = (text(message, n) for n in ("FromUserName", "CreateTime", "EventKey"))
        if not 0 < len(sender.encode()) <= USER_ID_BYTES:
            raise CallbackRejected("message without a sender")
        stamp(created)  # a creation time of ASCII digits, or refused
        dedupe_key = hashlib.sha256((text(message, "MsgId") or f"{sender}#{created}#{key}").encode()).hexdigest()
        if text(message, "Event") in CARD_EVENTS:
            return self._click(message, dedupe_key)
        return ChatEvents(reply=EMPTY, dedupe_key=dedupe_key)

    def _click(self, message: Element, dedupe_key: str) -> Click:
        parsed = parse_key(text(message, "EventKey"))
        intent = Intent.named(parsed[0], BUTTONS) if parsed else None
        if parsed is None or intent is None:
            raise CallbackRejected("not a button this app put on a card")
        _, minutes, incident_id = parsed
        code = text(message, "ResponseCode")
        return Click(user_id=text(message, "FromUserName"), incident_id=incident_id, intent=intent, minutes=minutes,
                     card=TaskId(text(message, "TaskId")), dedupe_key=dedupe_key, reply_updates_card=False,
                     ref_update={"response_code": code, "code_at": int(clock.now())} if code else {})

    def click_reply(self, click: Click, outcome: ClickOutcome) -> ClickAnswer:
        """Clicks are answered empty (the card is updated through the API with the click's fresh code);
        a refusal reaches the person as an app message, since the card cannot carry a toast."""
        refusal = "" if outcome.ok else outcome.message + (f"\n{outcome.link}" if outcome.link else "")
        return ClickAnswer(EMPTY, refusal)

    def send_text(self, user_id: str, message: str) -> None:
        self._api("POST", "/cgi-bin/message/send", {"touser": user_id, "msgtype": "text", "agentid": self.agent_id,
                                                    "text": {"content": message}})

    # -- war room ---------------------------------------------------------------------------
    room_carries_buttons = False
    room_min_members = 2  # appchat/create takes 2 to 500 members

    def war_room_problem(self) -> str | None:
        if self.third_party:
            return ("作战室功能仅支持在企业自建应用模式下开启 (war rooms need the self-built app mode: "
                    "a third-party suite app cannot create app group chats)")
        if not self.settings.war_room:
            return "未开启作战室：请在集成配置的增强功能中勾选「开启作战室」(enable settings.war_room first)"
        return None

    def war_room_wanted(self) -> bool:
        return self.settings.war_room or self.settings.war_room_auto_critical

    def open_room(self, plan: RoomPlan) -> Room:
        """appchat/create under ``chatid`` = the plan's key; 86215 means an earlier attempt created it."""
        title = plan.title[:CHAT_NAME_MAX]
        try:
            self._api("POST", "/cgi-bin/appchat/create", {"name": title, "owner": plan.members[0],
                                                           "userlist": plan.members, "chatid": plan.key})
        except Permanent as exc:
            if exc.platform_code != CHAT_EXISTS:
                raise
        return Room(chat_id=plan.key, target=plan.key, title=title)

    def add_to_room(self, chat_id: str, user_ids: list[str]) -> list[str]:
        """appchat/update; WeCom refuses the whole call for anyone outside the corp, so nobody is listed."""
        self._api("POST", "/cgi-bin/appchat/update", {"chatid": chat_id, "add_user_list": user_ids})
        return []

    # -- people -----------------------------------------------------------------------------
    def user_by_mobile(self, mobile: str) -> str | None:
        try:
            return self._api("POST", "/cgi-bin/user/getuserid", {"mobile": mobile})["userid"]
        except TargetGone:
            return None

    def authorize_url(self, state: str, redirect_uri: str) -> str | None:
        """Self-built apps sign in as the CorpID's app; third-party apps as the suite."""
        appid = suite.load().suite_id if self.third_party else self.credentials.corp_id
        agent = "" if self.third_party else f"&agentid={self.credentials.agent_id}"
        return (f"{self.settings.oauth_base.rstrip('/')}/connect/oauth2/authorize?appid={appid}"
                f"&redirect_uri={quote(redirect_uri, safe='')}&response_type=code&scope=snsapi_base"
                f"&state={state}{agent}#wechat_redirect")

    def h5_user(self, code: str) -> PlatformUser:
        try:
            data = (suite.suite_call("GET", "/cgi-bin/service/auth/getuserinfo3rd", params={"code": code})
                    if self.third_party else self._api("GET", "/cgi-bin/auth/getuserinfo", params={"code": code}))
        except PlatformError as exc:
            raise CallbackRejected(f"企业微信登录失败 (WeCom refused the sign-in: {exc.platform_message})") from exc
        user_id = data.get("userid") or data.get("UserId")
        if not user_id or data.get("corpid", self.credentials.corp_id) != self.credentials.corp_id:
            raise CallbackRejected("不是本企业成员 (not a member of this organisation)")
        return PlatformUser(user_id=user_id, name="")
