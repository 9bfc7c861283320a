"""WeCom's XML callback bodies: safe parsing (defusedxml) and opening the signed envelope.

The signature is checked before anything is decrypted, and every way a body can be wrong (its query,
its XML, the signature, base64, padding, length, receive id) ends in the same CallbackRejected, so no
answer tells an attacker how far a forged body got.
"""
from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from chalicelib.common.errors import CallbackRejected
from chalicelib.platforms.inbound import fresh
from chalicelib.platforms.msgcrypt import MsgCrypt

SKEW = 3600
NONCE = re.compile(r"[0-9A-Za-z]{1,64}")  # WeCom's nonce is a short number
CIPHERTEXT = re.compile(r"[0-9A-Za-z+/=]+")


def xml(raw: bytes | str) -> Element:
    """An ``<xml>`` document without DTD or entities (WeCom never sends one), or CallbackRejected."""
    try:
        root = ElementTree.fromstring(raw, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError, LookupError) as exc:  # LookupError: encoding=
        raise CallbackRejected("body is not acceptable XML") from exc
    if root.tag != "xml":
        raise CallbackRejected("body is not a WeCom <xml> document")
    return root


def text(node: Element, name: str) -> str:
    found = node.find(name)
    return (found.text or "").strip() if found is not None else ""


def open_envelope(crypt: MsgCrypt, query: dict[str, str], encrypt: str) -> str:
    """Check the query's shape, freshness and signature, then decrypt for ``crypt``'s receive id only."""
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not (NONCE.fullmatch(nonce) and CIPHERTEXT.fullmatch(encrypt)):
        raise CallbackRejected("missing or malformed nonce or ciphertext")
    fresh(timestamp, SKEW)  # ASCII digits only, or refused
    crypt.verify(query.get("msg_signature", ""), timestamp, nonce, encrypt)
    return crypt.decrypt(encrypt)
