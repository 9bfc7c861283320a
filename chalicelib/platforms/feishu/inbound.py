"""Opening a Feishu callback: its signature first, then decryption, then the payload's shape.

Feishu signs with ``X-Lark-Signature`` over the timestamp, the nonce, a secret and the raw body:
encrypted events and ``card.action.trigger`` with sha256 and the Encrypt Key (64 hex digits), legacy card
callbacks (``card.action.trigger_v1`` on the 消息卡片请求网址) with sha1 and the Verification Token (40 hex
digits). Only ``url_verification`` comes unsigned, and without an Encrypt Key Feishu signs no v2 body:
there the ``header.token`` (the Verification Token) is the check. lark-oapi and oapi-sdk-go decrypt every
body before they look at its signature; here a signature that is present is checked before anything is
decrypted, and an unsigned encrypted body is opened only to answer a url_verification, every other
outcome refused alike (sources: lark-oapi ``EventDispatcherHandler`` and ``CardActionHandler``,
oapi-sdk-go ``dispatcher.Handle`` and ``larkcard.CardActionHandler``, facts only).

Card clicks: ``card.action.trigger`` carries ``event.{operator, token, action, context}``; the legacy
``card.action.trigger_v1`` body is flat ``{open_id, user_id, open_message_id, open_chat_id, tenant_key,
token, action}``. In both, ``token`` (``c-…``) is the click's delayed-update credential, not the
Verification Token.
"""
from __future__ import annotations

import hmac
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.common import clock
from chalicelib.common.errors import CallbackRejected
from chalicelib.common.ids import ID_PATTERN
from chalicelib.core.callback import CARD_BUTTONS, CardId, ChatEvent, Click, Departure, InboundRequest, Intent
from chalicelib.core.models import MAX_SILENCE_MINUTES
from chalicelib.platforms.feishu import crypto
from chalicelib.platforms.inbound import fresh, json_body

SKEW = 3600
NONCE = re.compile(r"[\x21-\x7e]{1,128}")
MINUTES = re.compile(r"[0-9]{1,7}")
EVENT_SIGNATURE, LEGACY_SIGNATURE = 64, 40  # hex lengths of sha256 and sha1
CARD_EVENT = "card.action.trigger"
CHAT_EVENTS = {"im.chat.member.bot.added_v1": "joined", "im.chat.member.bot.deleted_v1": "left",
               "im.chat.disbanded_v1": "left", "im.chat.updated_v1": "renamed"}
HANDSHAKE = "url_verification"
# 员工离职 (open.feishu.cn server-docs/contact-v3/user/events/deleted): event.object is the user who left,
# with open_id (bindings hold open_ids: clicks and sign-in name people by it), union_id and user_id.
LEAVE_EVENT = "contact.user.deleted_v3"


class MessageId(CardId):
    """A card is the message it was sent as: ``send_card`` records its ``message_id``, a click names it in
    ``open_message_id``."""

    ref_key = "message_id"


def open_callback(request: InboundRequest, verification_token: str, encrypt_key: str, *, card_url: bool) -> dict:
    """The verified plaintext payload of a callback; CallbackRejected for anything that cannot be opened."""
    signed = _signed(request, verification_token, encrypt_key, card_url)
    body = json_body(request.body)
    if signed:
        payload = _decrypted(body, encrypt_key) if "encrypt" in body else body
    else:
        payload = _unsigned(body, encrypt_key)
    _check_token(payload, verification_token)
    return payload


def is_handshake(payload: dict) -> bool:
    return payload.get("type") == HANDSHAKE


def challenge(payload: dict) -> dict:
    """The answer to a url_verification."""
    value = payload.get("challenge")
    if not isinstance(value, str) or len(value) > 1024:
        raise CallbackRejected("url_verification without a challenge")
    return {"challenge": value}


def _signed(request: InboundRequest, verification_token: str, encrypt_key: str, card_url: bool) -> bool:
    """Whether a signature came and held (it must, when it came); checked on the raw body, before decryption."""
    given = request.headers.get("x-lark-signature", "")
    if not given or (len(given) == EVENT_SIGNATURE and not encrypt_key):
        return False  # without an Encrypt Key Feishu signs nothing the SDKs check: the token is the check
    stamp, nonce = request.headers.get("x-lark-request-timestamp", ""), request.headers.get("x-lark-request-nonce", "")
    if not NONCE.fullmatch(nonce):
        raise CallbackRejected("malformed X-Lark-Request-Nonce")
    if len(given) == EVENT_SIGNATURE:
        expected = crypto.signature(stamp, nonce, encrypt_key, request.body)
    elif len(given) == LEGACY_SIGNATURE and card_url:
        expected = crypto.legacy_card_signature(stamp, nonce, verification_token, request.body)
    else:
        raise CallbackRejected("X-Lark-Signature of an unknown kind")
    if not _same(expected, given):
        raise CallbackRejected("X-Lark-Signature mismatch")
    fresh(stamp, SKEW)  # ASCII digits only, or refused
    return True


def _unsigned(body: dict, encrypt_key: str) -> dict:
    """An unsigned body may only be a url_verification, or, without an Encrypt Key, a v2 body (the SDKs
    check its token alone). An encrypted one is decrypted only to find a url_verification."""
    if "encrypt" in body:
        payload = _decrypted(body, encrypt_key)
        if not is_handshake(payload):
            raise CallbackRejected(crypto.UNOPENED)
        return payload
    if is_handshake(body) or (not encrypt_key and "header" in body):
        return body
    raise CallbackRejected("unsigned callback that is not a url_verification")


def _decrypted(body: dict, encrypt_key: str) -> dict:
    if not encrypt_key:
        raise CallbackRejected("encrypted callback but no Encrypt Key is configured")
    return json_body(crypto.decrypt(encrypt_key, body["encrypt"]).encode("utf-8"))


def _check_token(payload: dict, verification_token: str) -> None:
    """A url_verification's ``token`` and a v2 body's ``header.token`` are the Verification Token (the SDKs
    compare it whenever it is there); a legacy click's ``token`` is its update credential, not checked."""
    if "header" in payload:
        header = payload["header"]
        token = header.get("token") if isinstance(header, dict) else None
    elif is_handshake(payload):
        token = payload.get("token")
    else:
        return
    if not isinstance(token, str) or not _same(verification_token, token):
        raise CallbackRejected("verification token mismatch")


def _same(expected: str, given: str) -> bool:
    """Constant-time equality of two texts as bytes (a non-ASCII str would make compare_digest raise)."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogatepass"))


# -- the payload's shape --------------------------------------------------------------------------------

class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class Header(_Payload):
    event_id: str = Field(default="", max_length=128)
    event_type: str = Field(default="", max_length=128)


class ChatName(_Payload):
    name: str = Field(default="", max_length=256)


class ChatChange(ChatName):
    """``event`` of the chat events we follow (the bot added or removed, the chat disbanded or renamed)."""

    chat_id: str = Field(min_length=1, max_length=256)
    after_change: ChatName = Field(default_factory=ChatName)


class DepartedUser(_Payload):
    open_id: str = Field(min_length=1, max_length=128)


class UserDeleted(_Payload):
    """``event`` of a ``contact.user.deleted_v3``."""

    object: DepartedUser


class ButtonValue(_Payload):
    """What our card's buttons carry (``feishu_cards``)."""

    action: str = Field(max_length=32)
    incident_id: str = Field(pattern=ID_PATTERN)
    minutes: int | str | None = None


class CardAction(_Payload):
    value: ButtonValue
    tag: str = Field(default="", max_length=64)
    option: str | None = Field(default=None, max_length=64)  # an overflow pick: "silence:<minutes>"


class Operator(_Payload):
    open_id: str = Field(min_length=1, max_length=128)


class Context(_Payload):
    open_message_id: str = Field(default="", max_length=128)


class TriggerEvent(_Payload):
    """``event`` of a ``card.action.trigger``."""

    operator: Operator
    token: str = Field(default="", max_length=512)
    action: CardAction
    context: Context = Field(default_factory=Context)


class LegacyClick(_Payload):
    """The whole body of a ``card.action.trigger_v1``."""

    open_id: str = Field(min_length=1, max_length=128)
    open_message_id: str = Field(default="", max_length=128)
    token: str = Field(default="", max_length=512)
    action: CardAction


def header_of(payload: dict) -> Header | None:
    """The v2 header, None for a body without one."""
    if "header" not in payload:
        return None
    try:
        return Header.model_validate(payload["header"])
    except ValidationError as exc:
        raise CallbackRejected("malformed event header") from exc


def chat_event_of(payload: dict) -> ChatEvent | None:
    """The change to our chat list a verified v2 event brings, if it is one we follow."""
    header = header_of(payload)
    if header is None:
        return None
    if not isinstance(payload.get("event"), dict):
        raise CallbackRejected("event is not an object")
    kind = CHAT_EVENTS.get(header.event_type)
    if kind is None:
        return None
    try:
        event = ChatChange.model_validate(payload["event"])
    except ValidationError as exc:
        raise CallbackRejected("malformed chat event") from exc
    if kind == "renamed" and not event.after_change.name:
        return None  # another setting of the chat changed, not its name
    return ChatEvent(kind, event.chat_id, event.after_change.name or event.name)


def departure_of(payload: dict) -> Departure | None:
    """The person a verified v2 ``contact.user.deleted_v3`` says left, None for any other event."""
    header = header_of(payload)
    if header is None or header.event_type != LEAVE_EVENT:
        return None
    try:
        event = UserDeleted.model_validate(payload.get("event"))
    except ValidationError as exc:
        raise CallbackRejected("malformed contact.user.deleted_v3") from exc
    return Departure(event.object.open_id, LEAVE_EVENT)


def click_of(payload: dict) -> Click:
    """The click a verified ``card.action.trigger`` (or legacy ``card.action.trigger_v1``) payload carries."""
    header = header_of(payload)
    if header is not None and header.event_type != CARD_EVENT:
        raise CallbackRejected("not a card action")
    try:
        if header is not None:
            event = TriggerEvent.model_validate(payload.get("event"))
            open_id, message_id, token, action = (event.operator.open_id, event.context.open_message_id,
                                                  event.token, event.action)
        else:
            legacy = LegacyClick.model_validate(payload)
            open_id, message_id, token, action = (legacy.open_id, legacy.open_message_id, legacy.token,
                                                  legacy.action)
    except ValidationError as exc:
        raise CallbackRejected("malformed card action") from exc
    name, minutes = action.value.action, action.value.minutes
    if action.option is not None and action.option.startswith("silence:"):
        name, minutes = Intent.silence.value, action.option.split(":", 1)[1]
    intent = Intent.named(name, CARD_BUTTONS)
    if intent is None:
        raise CallbackRejected("unknown card action")
    minutes = _minutes(minutes)
    return Click(user_id=open_id, incident_id=action.value.incident_id, intent=intent, minutes=minutes,
                 card=MessageId(message_id), flavour="" if header else "legacy",
                 ref_update={"update_token": token, "token_at": int(clock.now()), "token_uses": 0} if token else {},
                 dedupe_key=header.event_id if header and header.event_id
                 else f"{message_id}#{open_id}#{name}#{minutes}")


def _minutes(raw: int | str | None) -> int | None:
    """A silence's length: ASCII digits, at most the admin API's bound."""
    if raw is None or raw == "":
        return None
    text = str(raw) if isinstance(raw, int) else raw
    if not MINUTES.fullmatch(text) or not 1 <= int(text) <= MAX_SILENCE_MINUTES:
        raise CallbackRejected("minutes out of bounds")
    return int(text)
