"""Calls DingTalk makes to the app: encrypted event pushes (incl. check_url) and signed card callbacks.

Event push: ``POST url?signature=&timestamp=&nonce=`` (legacy samples: ``msg_signature``/``timeStamp``),
body ``{"encrypt": ...}``, reply within 1500 ms with the encrypted ``success`` envelope. Card callback:
JSON POST signed with ``x-ddpaas-signature`` = base64(HMAC-SHA256(apiSecret, timestamp ms)), reply
within 2 s. Crypto is the project's verified ``msgcrypt``; nothing here re-implements it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import requests

from chalicelib.common.errors import CallbackRejected
from chalicelib.platforms.msgcrypt import MsgCrypt
from devkit.simulators.outbound import Delivery, new_nonce, post

EVENT_DEADLINE_MS = 1500
CARD_DEADLINE_MS = 2000


def reply_problem(response: requests.Response, crypt: MsgCrypt) -> str | None:
    """Why a push reply is not the encrypted ``success`` envelope, or None when it is."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    try:
        reply = response.json()
    except ValueError:
        return "reply is not JSON"
    if not isinstance(reply, dict) or not all(reply.get(k) for k in ("msg_signature", "timeStamp", "nonce", "encrypt")):
        return "reply needs msg_signature, timeStamp, nonce and encrypt"
    try:
        crypt.verify(str(reply["msg_signature"]), str(reply["timeStamp"]), str(reply["nonce"]), str(reply["encrypt"]))
        text = crypt.decrypt(str(reply["encrypt"]))
    except CallbackRejected as exc:
        return f"reply envelope rejected: {exc.message}"
    return None if text == "success" else f"decrypted reply is {text[:40]!r}, not 'success'"


def push_event(url: str, crypt: MsgCrypt, payload: dict[str, Any], now: float, *,
               timeout: float, legacy_query: bool = False) -> Delivery:
    """Encrypt, sign and POST one event exactly as DingTalk's HTTP push does; judge the reply."""
    delivery = Delivery("event", url, str(payload.get("EventType")), now, EVENT_DEADLINE_MS)
    encrypt = crypt.encrypt(json.dumps(payload, ensure_ascii=False))
    timestamp, nonce = str(int(now * 1000)), new_nonce()
    signature = crypt.sign(timestamp, nonce, encrypt)
    query = ({"msg_signature": signature, "timeStamp": timestamp, "nonce": nonce} if legacy_query
             else {"signature": signature, "timestamp": timestamp, "nonce": nonce})
    response = post(delivery, timeout, params=query, json={"encrypt": encrypt})
    if response is not None:
        delivery.error = reply_problem(response, crypt) or ""
    return delivery


def card_signature(api_secret: str, timestamp_ms: str) -> str:
    digest = hmac.new(api_secret.encode("utf-8"), timestamp_ms.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def post_card_callback(url: str, api_secret: str, body: dict[str, Any], now: float, *,
                       timeout: float) -> Delivery:
    """POST an actionCallback; signed only when the route was registered with an apiSecret."""
    content = json.loads(body["content"])
    delivery = Delivery("card", url, ",".join(content["cardPrivateData"]["actionIds"]), now, CARD_DEADLINE_MS)
    headers = {}
    if api_secret:
        timestamp = str(int(now * 1000))
        headers = {"x-ddpaas-signature-timestamp": timestamp,
                   "x-ddpaas-signature": card_signature(api_secret, timestamp)}
    response = post(delivery, timeout, json=body, headers=headers)
    if response is not None and response.status_code != 200:
        delivery.error = f"HTTP {response.status_code}"
    return delivery
