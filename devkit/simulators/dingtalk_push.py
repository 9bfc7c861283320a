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
import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

import requests

from chalicelib.errors import CallbackRejected
from chalicelib.platforms.msgcrypt import MsgCrypt

EVENT_DEADLINE_MS = 1500
CARD_DEADLINE_MS = 2000


@dataclass
class Delivery:
    """One outbound call and how the app answered it."""

    kind: str  # "event" or "card"
    url: str
    label: str  # EventType or actionId
    at: float
    deadline_ms: int
    status: int | None = None
    body: Any = None
    latency_ms: int = 0
    error: str = ""  # transport failure or why the reply was not accepted

    @property
    def late(self) -> bool:
        return self.latency_ms > self.deadline_ms

    @property
    def ok(self) -> bool:
        return not self.error and not self.late

    def public(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "label": self.label, "at": self.at, "status": self.status,
                "body": self.body, "latencyMs": self.latency_ms, "deadlineMs": self.deadline_ms,
                "late": self.late, "ok": self.ok, "error": self.error}


def new_nonce() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(8))


def _post(delivery: Delivery, timeout: float, **kwargs: Any) -> requests.Response | None:
    started = time.monotonic()
    try:
        response = requests.post(delivery.url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        delivery.error = f"{type(exc).__name__}: {exc}"
        response = None
    delivery.latency_ms = int((time.monotonic() - started) * 1000)
    if response is not None:
        delivery.status = response.status_code
        try:
            delivery.body = response.json()
        except ValueError:
            delivery.body = response.text[:2000]
    return response


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
    response = _post(delivery, timeout, params=query, json={"encrypt": encrypt})
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
        headers = {"x-ddpaas-signature-timestamp": timestamp, "x-ddpaas-signature": card_signature(api_secret, timestamp)}
    response = _post(delivery, timeout, json=body, headers=headers)
    if response is not None and response.status_code != 200:
        delivery.error = f"HTTP {response.status_code}"
    return delivery
