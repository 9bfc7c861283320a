"""Calls Feishu makes to the app: event pushes, the console's url_verification, card-button callbacks.

- Events and ``card.action.trigger`` (schema 2.0): with an Encrypt Key the body is ``{"encrypt": ...}`` and the
  request carries ``X-Lark-Request-Timestamp`` (seconds), ``X-Lark-Request-Nonce`` and ``X-Lark-Signature`` =
  sha256(timestamp + nonce + encrypt_key + body); without one the plaintext goes unsigned.
- url_verification: ``{"challenge", "token", "type"}``, encrypted when a key is set, never signed; the reply
  must be HTTP 200 ``{"challenge": <same>}`` within 1 s.
- Legacy card callback (消息卡片请求网址): plaintext body, signed with sha1(timestamp + nonce + verification token +
  body). Card callbacks must be answered within 3 s; events within 3 s.
Crypto is ``chalicelib.platforms.feishu.crypto``; nothing here re-implements it.
"""
from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from chalicelib.platforms.feishu import crypto as lark_crypto
from devkit.simulators.feishu.tenant import App
from devkit.simulators.outbound import Delivery, new_nonce, post

VERIFY_DEADLINE_MS = 1000
EVENT_DEADLINE_MS = CARD_DEADLINE_MS = 3000


def envelope(app: App, event_type: str, event: dict[str, Any], now: float) -> dict[str, Any]:
    """A schema 2.0 event with a fresh event_id."""
    return {"schema": "2.0",
            "header": {"event_id": uuid.uuid4().hex, "token": app.verification_token,
                       "create_time": str(int(now * 1000)), "event_type": event_type,
                       "tenant_key": app.tenant_key, "app_id": app.app_id},
            "event": event}


def _wire(app: App, payload: dict[str, Any], now: float, *, sign: bool) -> tuple[bytes, dict[str, str]]:
    """Body bytes and headers as Feishu sends ``payload`` to this app."""
    plaintext = json.dumps(payload, ensure_ascii=False)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if not app.encrypt_key:
        return plaintext.encode("utf-8"), headers
    raw = json.dumps({"encrypt": lark_crypto.encrypt(app.encrypt_key, plaintext)}).encode("utf-8")
    if sign:
        timestamp, nonce = str(int(now)), new_nonce()
        headers.update({"X-Lark-Request-Timestamp": timestamp, "X-Lark-Request-Nonce": nonce,
                        "X-Lark-Signature": lark_crypto.signature(timestamp, nonce, app.encrypt_key, raw)})
    return raw, headers


def _ok_status(delivery: Delivery) -> None:
    if delivery.status is not None and delivery.status != 200 and not delivery.error:
        delivery.error = f"HTTP {delivery.status}"


def verify_url(url: str, app: App, now: float, *, timeout: float) -> Delivery:
    """The console's url_verification; the delivery's error says why the console would refuse the URL."""
    challenge = secrets.token_urlsafe(16)
    delivery = Delivery("event", url, "url_verification", now, VERIFY_DEADLINE_MS)
    body, headers = _wire(app, {"challenge": challenge, "token": app.verification_token,
                                "type": "url_verification"}, now, sign=False)
    post(delivery, timeout, data=body, headers=headers)
    _ok_status(delivery)
    answer = delivery.body.get("challenge") if isinstance(delivery.body, dict) else None
    if not delivery.error and answer != challenge:
        delivery.error = f"reply is not {{\"challenge\": \"{challenge}\"}}"
    return delivery


def push(url: str, app: App, payload: dict[str, Any], now: float, *, timeout: float) -> Delivery:
    """An event, or a ``card.action.trigger`` to the card callback URL: both are secured the same way."""
    event_type = payload["header"]["event_type"]
    kind, deadline = ("card", CARD_DEADLINE_MS) if event_type == "card.action.trigger" else ("event", EVENT_DEADLINE_MS)
    delivery = Delivery(kind, url, event_type, now, deadline)
    body, headers = _wire(app, payload, now, sign=True)
    post(delivery, timeout, data=body, headers=headers)
    _ok_status(delivery)
    return delivery


def post_legacy_card(url: str, app: App, payload: dict[str, Any], now: float, *, timeout: float) -> Delivery:
    """The legacy 消息卡片请求网址 callback: plaintext, sha1-signed with the Verification Token."""
    delivery = Delivery("card", url, "card.action.trigger_v1", now, CARD_DEADLINE_MS)
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    timestamp, nonce = str(int(now)), new_nonce()
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Lark-Request-Timestamp": timestamp,
               "X-Lark-Request-Nonce": nonce,
               "X-Lark-Signature": lark_crypto.legacy_card_signature(timestamp, nonce, app.verification_token, body)}
    post(delivery, timeout, data=body, headers=headers)
    _ok_status(delivery)
    return delivery
