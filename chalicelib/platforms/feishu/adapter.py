"""Feishu (飞书) / Lark self-built app: interactive cards, event and card callbacks, web sign-in.

Console (open.feishu.cn/app): App ID and App Secret (凭证与基础信息), Encrypt Key and Verification
Token (开发配置 → 事件与回调 → 加密策略). Lark is the same protocol on open.larksuite.com: set
``api_base`` (and ``accounts_base`` if the sign-in host differs from ``accounts.<domain>``).
Callbacks (verified and opened by ``feishu_inbound``): body ``{"encrypt"}`` = base64(IV + AES-256-CBC,
key SHA-256(Encrypt Key)), signed with X-Lark-Signature = sha256(timestamp + nonce + Encrypt Key + raw
body); the legacy card URL signs sha1(timestamp + nonce + Verification Token + raw body). Handshake:
``url_verification`` → ``{"challenge"}`` within 1 s; card clicks answered within 3 s with a toast and the
new card. Web sign-in: the code is exchanged at accounts.feishu.cn/oauth/v3/token (authen/v2/oauth/token
is deprecated; same request and answer).
War room (作战室): im/v1/chats with the bot as manager, members added one call at a time (232019
answers concurrent member operations on a chat) with succeed_type=1; contact:user.id:readonly finds
people by mobile.
Limits: 50/s per API, messages 1000/min, 5/s per user or group; free edition 10,000 calls a month.
Docs: open.feishu.cn/document (发送消息, 卡片回传交互, 频控策略, 获取 user_access_token).
"""
from __future__ import annotations

import hashlib
import json
import time
from functools import partial
from urllib.parse import urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.common import clock
from chalicelib.common.config import settings
from chalicelib.common.errors import CallbackRejected, Permanent, PlatformError, RateLimited
from chalicelib.common.fetch import Picture
from chalicelib.core.callback import (
    Callback,
    ChatEvents,
    Click,
    ClickAnswer,
    ClickOutcome,
    Endpoint,
    Handshake,
    InboundRequest,
    PlatformUser,
    Reply,
    Room,
    RoomPlan,
)
from chalicelib.core.cards import Card, Preview
from chalicelib.platforms.base import Adapter, CommonSettings, Window
from chalicelib.platforms.feishu import api, inbound
from chalicelib.platforms.feishu.cards import MAX_BODY_BYTES, fitted, render

UPDATE_TOKEN_SECONDS = 30 * 60  # a click's delayed-update token: 30 minutes, 2 uses
UPDATE_TOKEN_USES = 2
CHAT_NAME_MAX = 60
MEMBERS_PER_CALL = 50
CHAT_BUSY, BUSY_TRIES, BUSY_WAIT = "232019", 4, 0.5
NO_VALID_MEMBER = "232027"
ADD_USABLE_IDS = "1"  # succeed_type: add every usable id, list the others in invalid/not_existed_id_list


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    app_id: str = Field(min_length=1)
    app_secret: str = Field(min_length=1)
    verification_token: str = Field(min_length=1)
    encrypt_key: str = ""


class Settings(CommonSettings):
    api_base: str = "https://open.feishu.cn"
    accounts_base: str = ""


class Feishu(Adapter):
    name = "feishu"
    label = ("飞书", "Feishu")
    editions = {"standard": (50, None), "free": (50, 10_000)}
    token_families = ("app",)
    Credentials = Credentials
    Settings = Settings
    secret_field = "app_secret"
    click_reply_seconds = 3.0  # 卡片回传交互: answered within 3 s, else 延时更新
    rings_mentions = True  # a group card @s the targeted members linked on this app
    token_margin = 31 * 60  # under 30 minutes left, Feishu hands out a new token
    # 上传图片 (im/v1/images, image_type message): at most 10 MB; the image_key lasts, and an img element shows it.
    image_max_bytes = 10 * 1024 * 1024
    image_types = frozenset({"image/png", "image/jpeg", "image/gif"})
    credentials: Credentials
    settings: Settings

    def _url(self, path: str) -> str:
        return self.settings.api_base.rstrip("/") + path

    def fetch_token(self, family: str) -> tuple[str, int]:
        data = api.call("POST", self._url("/open-apis/auth/v3/tenant_access_token/internal"), None,
                        {"app_id": self.credentials.app_id, "app_secret": self.credentials.app_secret})
        return data["tenant_access_token"], int(data.get("expire", 7200))

    def _api(self, method: str, path: str, body: dict | None = None, params: dict | None = None,
             ledger: str = "") -> dict:
        return self.counted(ledger or f"{method} {path.split('/messages/')[0]}",
                            lambda token: api.call(method, self._url(path), token, body, params))

    def urls(self, base: str) -> dict[str, str]:
        return {"events": f"{base}/callbacks/{self.integration_id}/events",
                "card_callback": f"{base}/callbacks/{self.integration_id}/card",
                "oauth_redirect": f"{base}/oauth/{self.integration_id}/callback",
                "web_home": f"{base}/app/{self.integration_id}"}

    def card_callback_registration(self) -> str | None:
        """The card callback URL (消息卡片请求网址) is entered in the developer console; no API reads it back."""
        return ("not checkable: 飞书不提供读取卡片请求网址的接口 "
                "(Feishu has no API that reads the card request URL back)")

    # -- pacing -----------------------------------------------------------------------------
    def windows(self, operation: str, kind: str, target: str, ref: dict | None = None) -> list[Window]:
        """Messages: the edition's 50/s per API and 1000/min per app, 5/s per user or group; PATCH: 5/s
        per message."""
        app, qps = self.integration_id, int(self.limits(self.settings.model_dump())["qps"])
        if operation == "update" and ref:
            return [Window(f"{app}#patch", qps, 1), Window(f"{app}#message#{ref['message_id']}", 5, 1)]
        return [Window(f"{app}#messages", qps, 1), Window(f"{app}#messages", 1000, 60),
                Window(f"{app}#receiver#{target}", 5, 1)]

    # -- cards ------------------------------------------------------------------------------
    def send_card(self, kind: str, target: str, card: Card, card_key: str) -> dict:
        data = self._api("POST", "/open-apis/im/v1/messages", _message(target, render(self.offered(card)), card_key),
                         {"receive_id_type": "chat_id" if kind == "chat" else "open_id"})
        return inbound.MessageId(data["data"]["message_id"]).entry()

    def preview(self, kind: str, card: Card) -> Preview:
        shown = fitted(self.offered(card))
        body = _message("oc_preview" if kind == "chat" else "ou_preview", render(shown), "preview")
        return Preview(body, len(json.dumps(body, ensure_ascii=False).encode()), MAX_BODY_BYTES,
                       "bytes of the request body", shown)

    def update_card(self, ref: dict, card: Card) -> dict:
        """Spend a live delayed-update token from a click first (it spares the message's 5/s PATCH
        budget during click storms), else PATCH the shared card."""
        token, uses = ref.get("update_token"), int(ref.get("token_uses") or 0)
        shown = render(self.offered(card))
        if token and uses < UPDATE_TOKEN_USES and clock.now() - (ref.get("token_at") or 0) < UPDATE_TOKEN_SECONDS:
            self._api("POST", "/open-apis/interactive/v1/card/update", {"token": token, "card": shown})
            return {**ref, "token_uses": uses + 1}
        self._api("PATCH", f"/open-apis/im/v1/messages/{ref['message_id']}",
                  {"content": json.dumps(shown, ensure_ascii=False)})
        return ref

    def upload_image(self, picture: Picture) -> str:
        """上传图片: multipart ``image_type=message`` and ``image``; answers ``data.image_key``."""
        data = self.counted("POST /open-apis/im/v1/images", lambda token: api.call(
            "POST", self._url("/open-apis/im/v1/images"), token, {"image_type": "message"},
            files={"image": picture.part()}))
        return str(data["data"]["image_key"])

    # -- inbound ----------------------------------------------------------------------------
    def _open(self, request: InboundRequest, card_url: bool) -> dict:
        return inbound.open_callback(request, self.credentials.verification_token, self.credentials.encrypt_key,
                                     card_url=card_url)

    def parse_callback(self, request: InboundRequest, endpoint: Endpoint) -> Callback:
        """Both URLs answer the console's url_verification; clicks come to the card URL (a click pushed to
        the events URL is acknowledged, not applied), chat events to the events URL."""
        payload = self._open(request, card_url=endpoint is Endpoint.card)
        if inbound.is_handshake(payload):
            return Handshake(Reply(body=inbound.challenge(payload)))
        if endpoint is Endpoint.card:
            return inbound.click_of(payload)
        header, chat_event = inbound.header_of(payload), inbound.chat_event_of(payload)
        departure = inbound.departure_of(payload)
        return ChatEvents(reply=Reply(body={"msg": "success"}), dedupe_key=header.event_id if header else None,
                          events=[chat_event] if chat_event else [], departures=[departure] if departure else [])

    def click_reply(self, click: Click, outcome: ClickOutcome) -> ClickAnswer:
        """A toast and the new card; a link (e.g. to link the account and replay the click) also goes
        to the clicker as a direct message, since a toast's text cannot be clicked."""
        card = render(self.offered(outcome.card)) if outcome.card else None
        text = outcome.message + (f" {outcome.link}" if outcome.link else "")
        direct_message = text if outcome.link else ""
        if click.flavour == "legacy":
            return ClickAnswer(Reply(body=card or {}), direct_message)
        body: dict = {"toast": {"type": "success" if outcome.ok else "error", "content": text,
                                "i18n": {"zh_cn": text, "en_us": text}}}
        if card is not None:
            body["card"] = {"type": "raw", "data": card}
        return ClickAnswer(Reply(body=body), direct_message)

    def send_text(self, open_id: str, message: str) -> None:
        self._api("POST", "/open-apis/im/v1/messages", {
            "receive_id": open_id, "msg_type": "text", "content": json.dumps({"text": message}, ensure_ascii=False)},
            {"receive_id_type": "open_id"})

    # -- war room ---------------------------------------------------------------------------
    def war_room_problem(self) -> str | None:
        return None

    def open_room(self, plan: RoomPlan) -> Room:
        """Create the chat (``uuid`` finds it again) with the opener as owner and the bot as manager, then
        add the others through the members API, which names refused ids instead of failing everyone."""
        owner, *others = plan.members
        title = plan.title[:CHAT_NAME_MAX]
        data = self._api("POST", "/open-apis/im/v1/chats", {
            "name": title, "description": plan.description, "owner_id": owner, "chat_mode": "group",
            "chat_type": "private", "i18n_names": {"zh_cn": title, "en_us": plan.title_en[:CHAT_NAME_MAX]}},
            {"user_id_type": "open_id", "set_bot_manager": "true", "uuid": plan.key})
        chat_id = str(data["data"]["chat_id"])
        return Room(chat_id=chat_id, target=chat_id, title=title, refused=self.add_to_room(chat_id, others))

    def add_to_room(self, chat_id: str, open_ids: list[str]) -> list[str]:
        """Serially, batch after batch. ``succeed_type=1`` adds whoever can be added and lists the rest (by
        default one id the app cannot see fails the whole call); a 232019 (another member operation still
        running) waits and retries, a 232027 (nobody in the batch can be added) refuses the whole batch."""
        refused: list[str] = []
        for start in range(0, len(open_ids), MEMBERS_PER_CALL):
            body = {"id_list": open_ids[start:start + MEMBERS_PER_CALL]}
            try:
                data = _when_idle(partial(self._api, "POST", f"/open-apis/im/v1/chats/{chat_id}/members", body, {
                    "member_id_type": "open_id", "succeed_type": ADD_USABLE_IDS},
                    "POST /open-apis/im/v1/chats/members"))["data"]
            except Permanent as exc:
                if exc.platform_code != NO_VALID_MEMBER:
                    raise
                data = {"invalid_id_list": body["id_list"]}
            refused += data.get("invalid_id_list", []) + data.get("not_existed_id_list", [])
        return refused

    # -- people -----------------------------------------------------------------------------
    def user_by_mobile(self, mobile: str) -> str | None:
        data = self._api("POST", "/open-apis/contact/v3/users/batch_get_id",
                         {"mobiles": [mobile], "include_resigned": False}, {"user_id_type": "open_id"})
        found = [u.get("user_id") for u in data.get("data", {}).get("user_list", []) if u.get("user_id")]
        return found[0] if found else None

    def authorize_url(self, state: str, redirect_uri: str) -> str | None:
        query = urlencode({"client_id": self.credentials.app_id, "redirect_uri": redirect_uri,
                           "response_type": "code", "state": state})
        return f"{self._accounts_base()}/open-apis/authen/v1/authorize?{query}"

    def _accounts_base(self) -> str:
        if self.settings.accounts_base:
            return self.settings.accounts_base.rstrip("/")
        parts = urlsplit(self.settings.api_base)
        return f"{parts.scheme}://{parts.netloc.replace('open.', 'accounts.', 1)}"

    def h5_user(self, code: str) -> PlatformUser:
        try:
            token = api.call("POST", f"{self._accounts_base()}/oauth/v3/token", None, {
                "grant_type": "authorization_code", "client_id": self.credentials.app_id,
                "client_secret": self.credentials.app_secret, "code": code,
                "redirect_uri": self.urls(settings().public_base_url)["oauth_redirect"]})["access_token"]
            info = api.call("GET", self._url("/open-apis/authen/v1/user_info"), token)["data"]
        except PlatformError as exc:
            raise CallbackRejected(f"飞书登录失败 (Feishu refused the sign-in: {exc.platform_message})") from exc
        return PlatformUser(user_id=info["open_id"], name=info.get("name", ""))


def _when_idle(call):
    """Run a chat-member call, waiting out 232019 (a member operation on the chat still running)."""
    for attempt in range(BUSY_TRIES):
        try:
            return call()
        except RateLimited as exc:
            if exc.platform_code != CHAT_BUSY or attempt == BUSY_TRIES - 1:
                raise
            time.sleep(BUSY_WAIT * (attempt + 1))


def _message(receive_id: str, card: dict, card_key: str) -> dict:
    """The send-message body of a card; its uuid (from the card key) makes a retried send no second message."""
    return {"receive_id": receive_id, "msg_type": "interactive", "content": json.dumps(card, ensure_ascii=False),
            "uuid": hashlib.sha1(card_key.encode()).hexdigest()[:32]}
