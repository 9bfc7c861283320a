"""Calls WeCom makes to the app: the console's GET check of the callback URL, encrypted XML callbacks (card
clicks, member messages) with WeCom's retries, the app's passive reply, and the trusted-domain file check.

- URL check: ``GET url?msg_signature&timestamp&nonce&echostr`` (echostr = encrypted random digits, URL-encoded);
  the reply must be the bare plaintext within 1 s.
- Callback: ``POST url?msg_signature&timestamp&nonce`` with
  ``<xml><ToUserName/><AgentID/><Encrypt/></xml>``; WeCom waits 5 s and makes 3 attempts in all when the answer
  is late or not HTTP 200 (or, for the suite's instructions, not the bare ``success``), resending the same request.
- Passive reply: ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``, signed and encrypted like a
  callback; ``update_button`` (``Button/ReplaceName``) or ``update_template_card`` (``TemplateCard``).
Crypto is the project's verified ``msgcrypt`` (receive id = CorpID, or the SuiteID for the suite's
instructions); nothing here re-implements it.
"""
from __future__ import annotations

import secrets
from typing import Any

import requests
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from chalicelib.common.errors import CallbackRejected
from chalicelib.platforms.msgcrypt import MsgCrypt
from devkit.simulators.outbound import Delivery, post, send
from devkit.simulators.wecom.cards import card_from_xml
from devkit.simulators.wecom.corp import Corp

ATTEMPTS = 3


class ReplyRefused(Exception):
    """The app's passive reply cannot be applied."""


def xml_message(fields: dict[str, str | int]) -> str:
    """A flat WeCom XML message: numbers bare, text in CDATA."""
    def node(name: str, value: str | int) -> str:
        text = str(value) if isinstance(value, int) else "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"
        return f"<{name}>{text}</{name}>"
    return "<xml>" + "".join(node(name, value) for name, value in fields.items()) + "</xml>"


def _signed(crypt: MsgCrypt, encrypt: str, now: float) -> dict[str, str]:
    timestamp, nonce = str(int(now)), str(secrets.randbelow(10 ** 10))
    return {"msg_signature": crypt.sign(timestamp, nonce, encrypt), "timestamp": timestamp, "nonce": nonce}


def verify_url(url: str, crypt: MsgCrypt, now: float, *, timeout: float) -> Delivery:
    """The console's check when the callback URL is saved; the delivery's error says why it failed."""
    plaintext = str(10 ** 18 + secrets.randbelow(9 * 10 ** 18))
    echostr = crypt.encrypt(plaintext)
    delivery = Delivery("verify", url, "echostr", now, int(timeout * 1000))
    response = send(delivery, timeout, "GET", params={**_signed(crypt, echostr, now), "echostr": echostr})
    if response is not None and response.status_code != 200:
        delivery.error = f"HTTP {response.status_code}"
    elif response is not None and response.content != plaintext.encode():
        delivery.error = f"reply {response.text[:40]!r} is not the bare decrypted echostr"
    return delivery


def verify_domain(domain: str, corp: Corp, now: float, *, timeout: float) -> Delivery:
    """The ownership check of a trusted domain: ``/<WW_verify_….txt>`` at its root must hold the content."""
    delivery = Delivery("verify", f"http://{domain}/{corp.verify_file}", "trusted-domain", now, int(timeout * 1000))
    response = send(delivery, timeout, "GET")
    if response is not None and (response.status_code != 200 or response.text.strip() != corp.verify_content):
        delivery.error = f"HTTP {response.status_code}, file does not hold the verification content"
    return delivery


def push(url: str, crypt: MsgCrypt, to_user: str, agent_id: str, inner: str, label: str, now: float, *,
         timeout: float, expect: str | None = None) -> tuple[list[Delivery], requests.Response | None]:
    """POST one encrypted callback with WeCom's retries; every attempt, and the answer that was accepted.
    ``to_user``/``agent_id`` fill the outer ToUserName/AgentID; with ``expect`` the body must be exactly that."""
    encrypt = crypt.encrypt(inner)
    body = xml_message({"ToUserName": to_user, "AgentID": agent_id, "Encrypt": encrypt}).encode("utf-8")
    query, deliveries = _signed(crypt, encrypt, now), []
    for _ in range(ATTEMPTS):
        delivery = Delivery("event", url, label, now, int(timeout * 1000))
        response = post(delivery, timeout, params=query, data=body, headers={"Content-Type": "text/xml"})
        if response is not None and response.status_code != 200:
            delivery.error = f"HTTP {response.status_code}"
        elif response is not None and expect is not None and response.text != expect:
            delivery.error = f"reply {response.text[:40]!r} is not {expect!r}"
        deliveries.append(delivery)
        if delivery.ok:
            return deliveries, response
    return deliveries, None


def passive_update(text: str, crypt: MsgCrypt) -> tuple[str, Any] | None:
    """The card update a passive reply asks for: ("button", replace_name) or ("template_card", card); None
    for an empty reply. Raises ReplyRefused when the reply is not a good encrypted update."""
    if not text.strip():
        return None
    try:
        outer = ElementTree.fromstring(text)
        fields = [outer.findtext(name) or "" for name in ("MsgSignature", "TimeStamp", "Nonce", "Encrypt")]
        crypt.verify(*fields)
        inner = ElementTree.fromstring(crypt.decrypt(fields[3]))
    except CallbackRejected as exc:
        raise ReplyRefused(f"reply envelope rejected: {exc.message}") from exc
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise ReplyRefused(f"reply is not WeCom XML: {exc}") from exc
    msgtype = inner.findtext("MsgType")
    if msgtype == "update_button" and inner.findtext("Button/ReplaceName"):
        return "button", inner.findtext("Button/ReplaceName")
    card = inner.find("TemplateCard")
    if msgtype == "update_template_card" and card is not None:
        return "template_card", card_from_xml(card)
    raise ReplyRefused(f"reply MsgType {msgtype!r} does not update the card")
