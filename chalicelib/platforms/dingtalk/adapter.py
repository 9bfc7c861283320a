"""DingTalk (钉钉) self-built app: interactive cards, event push, card callbacks, H5 免登.

Console (open-dev.dingtalk.com → 应用开发 → 企业内部开发): CorpId (top-right avatar menu),
AgentID / ClientID (AppKey) / ClientSecret (凭证与基础信息), aes_key and Token (事件与回调, HTTP推送).
APIs: api.dingtalk.com (new, header token) and oapi.dingtalk.com (old, query token).
Event push: SHA-1 signature + AES-256-CBC envelope (msgcrypt.py), owner key = the AppKey, reply
within 1.5 s with the encrypted "success"; an installed group's title is asked of 查询群简要信息. Card clicks:
POST to the URL registered through /v1.0/card/callbacks/register, source-verified by
HMAC-SHA256(apiSecret, timestamp) and guarded against reuse of that signature (clicks.py), reply
within 2 s.
War room (作战室): a scene group (场景群) from the template of 开放能力 → 场景群 (settings
scene_group_template_id); cards reach it through the template's group robot (scene_group_robot_code).
Limits: standard/professional/exclusive editions 20/40/60 QPS per API and 10k/500k/5.5M calls a month.
Docs: open.dingtalk.com/document/orgapp (HTTP 推送概述, 创建并投放卡片, 事件回调, 限流处理).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from typing import Literal, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.common import clock
from chalicelib.common.errors import CallbackRejected, InvalidInput, Permanent, PlatformError, TargetGone
from chalicelib.common.fetch import Picture
from chalicelib.core.callback import (
    CARD_BUTTONS,
    Callback,
    CardId,
    ChatEvent,
    ChatEvents,
    Click,
    ClickAnswer,
    ClickOutcome,
    Departure,
    Endpoint,
    InboundRequest,
    Intent,
    PlatformUser,
    Reply,
    Room,
    RoomPlan,
)
from chalicelib.core.cards import Card, Preview
from chalicelib.platforms.base import Adapter, CommonSettings, Window
from chalicelib.platforms.dingtalk import api, clicks
from chalicelib.platforms.dingtalk.cards import MAX_VALUE_BYTES, card_params, fitted
from chalicelib.platforms.inbound import fresh, json_body, stamp
from chalicelib.platforms.msgcrypt import MsgCrypt

CHAT_EVENTS = {"im_cool_app_install": "joined", "im_cool_app_uninstall": "left", "chat_update_title": "renamed"}
LEAVE_EVENT = "user_leave_org"  # 通讯录用户离职 (subscribed under 事件订阅 → 通讯录事件)
MAX_LEAVERS = 1000  # our own bound on one push's UserId list (not a DingTalk limit): beyond it, refused
EVENT_SKEW = 3600  # DingTalk retries failed pushes; dedupe by eventId covers replays inside the window
CLICK_SKEW = 300
MAX_ID = 256  # outTrackId, userId, openConversationId, eventId: far beyond DingTalk's, far below a storage key
MAX_MINUTES_DIGITS = 6
ROBOT_PER_MINUTE = 20  # robot messages into one group
MAX_AT = 30  # atUserIds of one card delivery (platform-protocols.md §1.4: ≤ 30)
SCENE = "scene:"  # a chat target in a scene group: its cards go out through the group's own robot
SCENE_TITLE_MAX = 30
log = logging.getLogger("dutybridge.dingtalk")
Payload = TypeVar("Payload", bound=BaseModel)


class PushedEvent(BaseModel):
    """What every decrypted event push must be for this adapter to read it (other fields are ignored)."""

    model_config = ConfigDict(strict=True, extra="ignore")
    EventType: str = Field(default="", max_length=MAX_ID)
    eventId: str | None = Field(default=None, max_length=MAX_ID)


class ChatChange(PushedEvent):
    """im_cool_app_install / im_cool_app_uninstall / chat_update_title (fields per §1.3)."""

    openConversationId: str = Field(min_length=1, max_length=MAX_ID)
    title: str = Field(default="", max_length=MAX_ID)
    robotCode: str | None = Field(default=None, max_length=MAX_ID)
    coolAppCode: str | None = Field(default=None, max_length=MAX_ID)
    chatId: str | None = Field(default=None, max_length=MAX_ID)


class UserLeave(PushedEvent):
    """user_leave_org over HTTP push: ``UserId`` is the list of userids who left, ``CorpId`` their org,
    ``TimeStamp`` when (open.dingtalk.com 通讯录事件, 通讯录用户离职; field names as the open-source
    DingTalk event models read them, e.g. apitable's BaseContactUserEvent)."""

    UserId: list[str] = Field(max_length=MAX_LEAVERS)
    CorpId: str = Field(default="", max_length=MAX_ID)


class ActionCallback(BaseModel):
    """The card click DingTalk POSTs to the registered callback URL ("事件回调")."""

    model_config = ConfigDict(strict=True, extra="ignore")
    type: Literal["actionCallback"]
    outTrackId: str = Field(min_length=3, max_length=MAX_ID)
    corpId: str = Field(max_length=MAX_ID)
    userId: str = Field(min_length=1, max_length=MAX_ID)
    content: str


class CardPrivateData(BaseModel):
    """``content`` parsed: the pressed button's action id and its params."""

    model_config = ConfigDict(strict=True, extra="ignore")
    actionIds: list[str] = Field(min_length=1)
    params: dict[str, object] = Field(default_factory=dict)


def _payload(model: type[Payload], data: object, what: str) -> Payload:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise CallbackRejected(f"{what} is malformed: {exc.error_count()} field(s) of the wrong type") from exc


class OutTrackId(CardId):
    """A card is known by the ``outTrackId`` it was created with (its card key); clicks name it."""

    ref_key = "out_track_id"


def _minutes(value: object) -> int | None:
    """The silence button's ``minutes`` param: a short string of ASCII digits (or a JSON integer)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= MAX_MINUTES_DIGITS:
        return int(value)
    if type(value) is int and 0 <= value < 10 ** MAX_MINUTES_DIGITS:
        return value
    raise CallbackRejected("minutes is not a whole number of minutes")


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    corp_id: str = Field(min_length=1)
    agent_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    aes_key: str = Field(pattern=r"^[A-Za-z0-9]{43}$")  # 数据加密密钥: anything else fails every push
    token: str = Field(min_length=1, max_length=64)
    card_api_secret: str = ""  # generated on save, registered with the card callback


class Settings(CommonSettings):
    card_template_id: str = ""
    scene_group_template_id: str = ""
    scene_group_robot_code: str = ""
    api_base: str = "https://api.dingtalk.com"
    oapi_base: str = "https://oapi.dingtalk.com"
    jsapi_url: str = "https://g.alicdn.com/dingding/dingtalk-jsapi/3.0.25/dingtalk.open.js"


class DingTalk(Adapter):
    name = "dingtalk"
    label = ("钉钉", "DingTalk")
    editions = {"standard": (20, 10_000), "professional": (40, 500_000), "exclusive": (60, 5_500_000)}
    token_families = ("app", "oapi")  # the new API's accessToken and the old API's access_token
    Credentials = Credentials
    Settings = Settings
    secret_field = "client_secret"
    click_reply_seconds = 2.0  # 回调 must be answered within 2 s (事件回调, HTTP mode)
    rings_mentions = True  # a group card @s the targeted members linked on this app
    # 上传媒体文件 (oapi media/upload, type image): at most 20 MB of jpg, gif, png or bmp; the media_id is reusable
    # and shown only inside DingTalk, so the card template's image component takes it as is.
    image_max_bytes = 20 * 1024 * 1024
    image_types = frozenset({"image/png", "image/jpeg", "image/gif"})
    credentials: Credentials
    settings: Settings

    def fetch_token(self, family: str) -> tuple[str, int]:
        if family == "oapi":
            data = api.old_api("GET", self.settings.oapi_base, "/gettoken",
                               {"appkey": self.credentials.client_id, "appsecret": self.credentials.client_secret})
            return data["access_token"], int(data.get("expires_in", 7200))
        data = api.new_api("POST", self.settings.api_base, "/v1.0/oauth2/accessToken", None,
                           {"appKey": self.credentials.client_id, "appSecret": self.credentials.client_secret})
        return data["accessToken"], int(data.get("expireIn", 7200))

    def check_credentials(self) -> None:
        """The app's token, then the CorpId: 获取应用的 Access Token (``/v1.0/oauth2/{corpId}/token``) issues one only
        for an organisation the app runs in, so a CorpId it refuses (or does not know) is the wrong one. The card
        template can only be tried with a card to someone (创建卡片 needs a member's userId): the test card shows it."""
        if not self.settings.card_template_id:
            raise InvalidInput("settings.card_template_id: DingTalk cards need the interactive-card template; import "
                               "docs/dingtalk/card-template.json in the card builder, publish it and paste its id")
        self.fetch_token("app")
        corp_id = self.credentials.corp_id
        try:
            api.new_api("POST", self.settings.api_base, f"/v1.0/oauth2/{quote(corp_id, safe='')}/token", None, {
                "client_id": self.credentials.client_id, "client_secret": self.credentials.client_secret,
                "grant_type": "client_credentials"})
        except PlatformError as exc:
            if exc.platform_code not in api.CORP_REFUSED:
                raise
            raise InvalidInput(f"credentials.corp_id: DingTalk does not run this app in organisation {corp_id!r} "
                               f"({exc.platform_code}); copy the CorpId from the developer console's avatar menu "
                               f"(开发者后台右上角 → CorpId)") from exc

    def urls(self, base: str) -> dict[str, str]:
        home = f"{base}/app/{self.integration_id}"
        return {"events": f"{base}/callbacks/{self.integration_id}/events", "web_home": home,
                "pc_home": f"{home}?client=pc", "cool_app_home": f"{home}?entry=cool_app",
                "card_callback": f"{base}/callbacks/{self.integration_id}/card"}

    def after_save(self, urls: dict[str, str]) -> dict[str, str]:
        api_secret = self.credentials.card_api_secret or secrets.token_urlsafe(24)
        self._new("POST", "/v1.0/card/callbacks/register", {
            "callbackRouteKey": self._route_key(), "callbackUrl": urls["card_callback"],
            "apiSecret": api_secret, "forceUpdate": True})
        return {"card_api_secret": api_secret}

    def card_callback_registration(self) -> str | None:
        """Registered by after_save (注册互动卡片回调地址, POST /v1.0/card/callbacks/register); the card API
        documents no call that reads a registration back, so the generated apiSecret is the proof."""
        if self.credentials.card_api_secret:
            return f"registered at save (callbackRouteKey {self._route_key()})"
        return f"not registered: save the integration again (PATCH /integrations/{self.integration_id})"

    def _route_key(self) -> str:
        return f"dutybridge_{self.integration_id}"

    def _new(self, method: str, path: str, body: dict) -> dict:
        """A new-style call; these count against the monthly budget (token/login/contact calls do not)."""
        return self.counted(f"{method} {path}", lambda token: api.new_api(
            method, self.settings.api_base, path, token, body))

    def _old(self, path: str, body: dict) -> dict:
        return self.with_token("oapi", lambda token: api.old_api(
            "POST", self.settings.oapi_base, path, {"access_token": token}, body))

    # -- pacing -----------------------------------------------------------------------------
    def windows(self, operation: str, kind: str, target: str, ref: dict | None = None) -> list[Window]:
        """The edition's per-app, per-API QPS (20/40/60), for the card API this operation calls; a new
        card in a group is also a robot message there, at most 20 a minute (a robot that sends faster
        is silenced for 10 minutes)."""
        qps = self.limits(self.settings.model_dump())["qps"]
        api_name = "createAndDeliver" if operation == "send" else "instances.update"
        windows = [Window(f"{self.integration_id}#{api_name}", int(qps), 1)] if qps else []
        if operation == "send" and kind == "chat":
            windows.append(Window(f"{self.integration_id}#robot#{self._robot(target)}#{target}", ROBOT_PER_MINUTE, 60))
        return windows

    # -- cards ------------------------------------------------------------------------------
    def send_card(self, kind: str, target: str, card: Card, card_key: str) -> dict:
        if not self.settings.card_template_id:
            raise Permanent(self.name, "config.cardTemplateId", "settings.card_template_id is not set")
        body = self._delivery(kind, target, card, card_key, card_params(self.offered(card)))
        try:
            result = self._new("POST", "/v1.0/card/instances/createAndDeliver", body).get("result", {})
        except Permanent as exc:
            if exc.platform_code != "param.cardAlreadyExist":
                raise
            return self.update_card(OutTrackId(card_key).entry(), card)  # sent before a crash: refresh it
        failed = [r for r in result.get("deliverResults", []) if not r.get("success")]
        if failed:
            raise TargetGone(self.name, "deliver.failed", str(failed[0].get("errorMsg", "delivery refused")))
        return OutTrackId(card_key).entry()

    def _delivery(self, kind: str, target: str, card: Card, card_key: str, params: dict[str, str]) -> dict:
        """The createAndDeliver body: the card instance with its variables, and where it goes."""
        return {"cardTemplateId": self.settings.card_template_id, "outTrackId": card_key,
                "callbackType": "HTTP", "callbackRouteKey": self._route_key(), "userIdType": 1,
                "cardData": {"cardParamMap": params}, **self._space(kind, target, card)}

    def preview(self, kind: str, card: Card) -> Preview:
        shown = fitted(self.offered(card))
        params = card_params(shown)
        body = self._delivery(kind, "preview", shown, "preview", params)
        return Preview(body, max(len(value.encode()) for value in params.values()), MAX_VALUE_BYTES,
                       "bytes of the largest cardParamMap value", shown)

    def _at(self, card: Card) -> dict:
        """``atUserIds`` of a group card: the targeted members linked here, by userId (at most 30)."""
        named = {m.user_ids[self.name]: m.name for m in self.offered(card).mentions[:MAX_AT]}
        return {"atUserIds": named} if named else {}

    def _robot(self, target: str) -> str:
        return self.settings.scene_group_robot_code if target.startswith(SCENE) else self.credentials.client_id

    def _space(self, kind: str, target: str, card: Card) -> dict:
        robot = self._robot(target)
        if kind == "chat":
            chat = target.removeprefix(SCENE)
            return {"openSpaceId": f"dtv1.card//IM_GROUP.{chat}",
                    "imGroupOpenSpaceModel": {"supportForward": True, "lastMessageI18n": {
                        "ZH_CN": f"[{card.severity_zh}] {card.title}", "EN_US": f"[{card.severity_en}] {card.title}"}},
                    "imGroupOpenDeliverModel": {"robotCode": robot, **self._at(card)}}
        return {"openSpaceId": f"dtv1.card//IM_ROBOT.{target}",
                "imRobotOpenSpaceModel": {"supportForward": True},
                "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": robot}}

    def update_card(self, ref: dict, card: Card) -> dict:
        """The new state for everyone, and the last clicker's private notice (the click's answer, e.g.
        未关联应用) cleared: after a change it would speak of a card that is no more."""
        body = {"outTrackId": ref["out_track_id"], "userIdType": 1,
                "cardData": {"cardParamMap": card_params(self.offered(card))},
                "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True}}
        if ref.get("noticed"):
            body["privateData"] = {ref["noticed"]: {"cardParamMap": {"notice": ""}}}
        self._new("PUT", "/v1.0/card/instances", body)
        return ref

    def upload_image(self, picture: Picture) -> str:
        """上传媒体文件: multipart ``type=image`` and ``media``; counted like the card calls."""
        data = self.counted("POST /media/upload", lambda token: api.old_api(
            "POST", self.settings.oapi_base, "/media/upload", {"access_token": token}, {"type": "image"},
            files={"media": picture.part()}), family="oapi")
        return str(data["media_id"])

    # -- inbound ----------------------------------------------------------------------------
    def _crypt(self) -> MsgCrypt:
        return MsgCrypt(self.credentials.token, self.credentials.aes_key, self.credentials.client_id)

    def parse_callback(self, request: InboundRequest, endpoint: Endpoint) -> Callback:
        """Event pushes come to the events URL (its check_url too, answered like any event), card clicks to
        the card callback URL."""
        return self._click(request) if endpoint is Endpoint.card else self._events(request)

    def _events(self, request: InboundRequest) -> ChatEvents:
        """Signature first: nothing is decrypted before it holds, and every failure after it is the same
        CallbackRejected (one answer for bad base64, padding, length, owner or UTF-8)."""
        query = request.query
        signature = query.get("msg_signature") or query.get("signature") or ""
        timestamp = query.get("timestamp") or query.get("timeStamp") or ""
        nonce = query.get("nonce", "")
        encrypt = json_body(request.body).get("encrypt")
        if not isinstance(encrypt, str) or not encrypt.isascii() or not nonce or not nonce.isascii():
            raise CallbackRejected("missing or non-ASCII encrypt or nonce")
        fresh(timestamp, EVENT_SKEW, per_second=1000)
        crypt = self._crypt()
        crypt.verify(signature, timestamp, nonce, encrypt)
        event = json_body(crypt.decrypt(encrypt).encode("utf-8"))
        pushed = _payload(PushedEvent, event, "event")
        return ChatEvents(reply=self._success(crypt), dedupe_key=pushed.eventId or None,
                          events=self._chat_events(pushed.EventType, event),
                          departures=self._departures(pushed.EventType, event))

    def _chat_events(self, event_type: str, event: dict) -> list[ChatEvent]:
        kind = CHAT_EVENTS.get(event_type)
        if not kind:
            return []
        change = _payload(ChatChange, event, event_type)
        conversation = change.openConversationId
        title = change.title
        if kind == "joined" and not title:
            title = self._group_title(conversation, change.coolAppCode)
        extra = {k: v for k in ("robotCode", "coolAppCode", "chatId") if (v := getattr(change, k))}
        return [ChatEvent(kind, conversation, title, extra)]

    def _departures(self, event_type: str, event: dict) -> list[Departure]:
        """user_leave_org: everyone in ``UserId`` left (userids, the id kind bindings hold here)."""
        if event_type != LEAVE_EVENT:
            return []
        leave = _payload(UserLeave, event, event_type)
        if leave.CorpId and leave.CorpId != self.credentials.corp_id:
            raise CallbackRejected("departure from another organisation")
        if any(not 0 < len(user_id) <= MAX_ID for user_id in leave.UserId):
            raise CallbackRejected("user_leave_org with an empty or oversized userid")
        return [Departure(user_id, LEAVE_EVENT) for user_id in dict.fromkeys(leave.UserId)]

    def _group_title(self, conversation: str, cool_app_code: str | None) -> str:
        """查询群简要信息 (qyapi_chat_manage, which seed 000 applies for): an install event carries no title.
        A failure keeps the chat, untitled until a rename, and says why in the log."""
        body = {"openConversationId": conversation, **({"coolAppCode": cool_app_code} if cool_app_code else {})}
        try:
            title = self._new("POST", "/v1.0/im/sceneGroups/query", body).get("title")
        except PlatformError as exc:
            log.warning("%s: title of group %s not fetched: %s", self.integration_id, conversation, exc.brief())
            return ""
        return title[:MAX_ID] if isinstance(title, str) else ""

    def _success(self, crypt: MsgCrypt) -> Reply:
        timestamp, nonce = str(int(clock.now() * 1000)), secrets.token_hex(8)
        encrypt = crypt.encrypt("success")
        return Reply(body={"msg_signature": crypt.sign(timestamp, nonce, encrypt), "timeStamp": timestamp,
                           "nonce": nonce, "encrypt": encrypt})

    def _click(self, request: InboundRequest) -> Click:
        timestamp, signature = self._verify_click_source(request.headers)
        body = json_body(request.body)
        callback = _payload(ActionCallback, body, "actionCallback")
        if callback.corpId != self.credentials.corp_id:
            raise CallbackRejected("actionCallback of another organisation")
        content = json_body(callback.content.encode("utf-8"))
        private = _payload(CardPrivateData, content.get("cardPrivateData"), "cardPrivateData")
        out_track_id, user_id, action_id = callback.outTrackId, callback.userId, private.actionIds[0]
        intent = Intent.named(action_id, CARD_BUTTONS)
        if "." not in out_track_id or intent is None:
            raise CallbackRejected("unknown card or action")
        minutes = _minutes(private.params.get("minutes"))
        incident_id = out_track_id.rsplit(".", 1)[0]
        clicks.check_recipient(self.integration_id, incident_id, out_track_id, user_id)
        clicks.spend_signature(self.integration_id, signature, clicks.body_digest(body),
                                        2 * CLICK_SKEW + 1)
        return Click(user_id=user_id, incident_id=incident_id, intent=intent, card=OutTrackId(out_track_id),
                     minutes=minutes, ref_update={"noticed": user_id},
                     dedupe_key=f"{out_track_id}#{user_id}#{action_id}#{minutes}#{timestamp}")

    def _verify_click_source(self, headers: dict[str, str]) -> tuple[int, str]:
        """The timestamp (fresh) and the signature (HMAC-SHA256 of the timestamp under the apiSecret)."""
        if not self.credentials.card_api_secret:
            raise CallbackRejected("no card callback apiSecret registered: save the integration again")
        text = headers.get("x-ddpaas-signature-timestamp", "")
        timestamp = stamp(text)
        fresh(text, CLICK_SKEW, per_second=1000)
        mac = hmac.new(self.credentials.card_api_secret.encode(), text.encode(), hashlib.sha256).digest()
        signature = headers.get("x-ddpaas-signature", "")
        if not hmac.compare_digest(base64.b64encode(mac), signature.encode("utf-8", "replace")):
            raise CallbackRejected("card callback signature mismatch")
        return timestamp, signature

    def click_reply(self, click: Click, outcome: ClickOutcome) -> ClickAnswer:
        notice = outcome.message + (f" {outcome.link}" if outcome.link else "")
        body: dict = {"userPrivateData": {"cardParamMap": {"notice": notice}},
                      "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True}}
        if outcome.card is not None:
            body["cardData"] = {"cardParamMap": card_params(self.offered(outcome.card))}
        return ClickAnswer(Reply(body=body))

    # -- war room ---------------------------------------------------------------------------
    def war_room_problem(self) -> str | None:
        if self.settings.scene_group_template_id and self.settings.scene_group_robot_code:
            return None
        return ("未配置场景群：请按钉钉集成指南「四、配置作战室」填写群模版 ID 和群机器人 ID (DingTalk war rooms "
                "need settings.scene_group_template_id and scene_group_robot_code from 开放能力 → 场景群)")

    def open_room(self, plan: RoomPlan) -> Room:
        """创建场景群 (permission qyapi_chat_manage); ``uuid`` makes a repeated call find the same group."""
        owner, *others = plan.members
        title = plan.title[:SCENE_TITLE_MAX]
        data = self._new("POST", "/v1.0/im/sceneGroup/create", {
            "title": title, "template_id": self.settings.scene_group_template_id, "owner_user_id": owner,
            "user_ids": others, "uuid": plan.key})
        conversation = str(data["open_conversation_id"])
        return Room(chat_id=conversation, target=SCENE + conversation, title=title)

    def add_to_room(self, chat_id: str, user_ids: list[str]) -> list[str]:
        """添加场景群成员: DingTalk refuses the whole call for anyone outside the org, so nobody is listed."""
        self._new("POST", "/v1.0/im/sceneGroup/member/add", {"open_conversation_id": chat_id, "user_ids": user_ids})
        return []

    # -- people -----------------------------------------------------------------------------
    def user_by_mobile(self, mobile: str) -> str | None:
        try:
            return self._old("/topapi/v2/user/getbymobile", {"mobile": mobile})["result"]["userid"]
        except TargetGone:
            return None

    def h5_user(self, code: str) -> PlatformUser:
        try:
            result = self._old("/topapi/v2/user/getuserinfo", {"code": code})["result"]
        except PlatformError as exc:
            raise CallbackRejected(f"authCode refused by DingTalk: {exc.platform_message}") from exc
        return PlatformUser(user_id=result["userid"], name=result.get("name", ""))

    def h5_page_config(self) -> dict[str, str]:
        return {"platform": self.name, "corp_id": self.credentials.corp_id,
                "client_id": self.credentials.client_id, "jsapi_url": self.settings.jsapi_url}
