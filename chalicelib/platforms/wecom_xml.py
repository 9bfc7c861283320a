"""WeCom's XML callback bodies: safe parsing (defusedxml) and opening the signed envelope."""
from __future__ import annotations

from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from chalicelib.errors import CallbackRejected
from chalicelib.platforms.inbound import fresh
from chalicelib.platforms.msgcrypt import MsgCrypt

SKEW = 3600


def xml(raw: bytes | str) -> Element:
    try:
        return ElementTree.fromstring(raw)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise CallbackRejected("body is not acceptable XML") from exc


def text(node: Element, name: str) -> str:
    found = node.find(name)
    return (found.text or "").strip() if found is not None else ""


def open_envelope(crypt: MsgCrypt, query: dict[str, str], encrypt: str, any_owner: bool = False):
    """Check freshness and signature, then decrypt; with ``any_owner`` return (message, owner)."""
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not timestamp.isdigit() or not nonce or not encrypt:
        raise CallbackRejected("missing timestamp, nonce or ciphertext")
    fresh(int(timestamp), SKEW)
    crypt.verify(query.get("msg_signature", ""), timestamp, nonce, encrypt)
    return crypt.open(encrypt) if any_owner else crypt.decrypt(encrypt)
