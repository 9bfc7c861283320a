"""Feishu / Lark callback crypto, shared by the app's adapter and the Feishu simulator.

- Encrypted body ``{"encrypt": b64}``: key = SHA-256(Encrypt Key), base64 of IV(16) + AES-256-CBC ciphertext,
  PKCS#7 padding to 16 bytes (official vector: key "test key", "P37w+VZI…" → "hello world").
- Event / ``card.action.trigger`` signature: ``X-Lark-Signature = sha256_hex(timestamp + nonce + encrypt_key +
  raw_body)``, over the body bytes exactly as sent.
- Legacy card callback (消息卡片请求网址): ``sha1_hex(timestamp + nonce + verification_token + raw_body)``.

Sources: the 事件订阅 docs' decryption example (the "test key" vector, executed in the tests),
larksuite/oapi-sdk-python ``AESCipher``, ``EventDispatcherHandler._verify_sign`` and the legacy
``CardActionHandler._verify_sign`` (facts only).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from Crypto.Cipher import AES

from chalicelib.common.errors import CallbackRejected

BLOCK = 16
UNOPENED = "encrypt cannot be opened"  # the one reason for every failure, whichever check failed


def _key(encrypt_key: str) -> bytes:
    if not encrypt_key:
        raise CallbackRejected("no Encrypt Key is configured")
    return hashlib.sha256(encrypt_key.encode("utf-8")).digest()


def encrypt(encrypt_key: str, plaintext: str, iv: bytes | None = None) -> str:
    """The ``encrypt`` value Feishu would send for ``plaintext`` (random IV unless one is given)."""
    iv = iv if iv is not None else os.urandom(BLOCK)
    if len(iv) != BLOCK:
        raise CallbackRejected("IV must be 16 bytes")
    data = plaintext.encode("utf-8")
    pad = BLOCK - len(data) % BLOCK
    cipher = AES.new(_key(encrypt_key), AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(data + bytes([pad]) * pad)).decode("ascii")


def decrypt(encrypt_key: str, encrypt_b64: str) -> str:
    """Plaintext of an ``encrypt`` value; CallbackRejected, always for the same reason, when it is not one of ours.

    Bad base64 and a wrong length are refused at once: the sender sees those for itself. Past them the
    padding and the UTF-8 are both judged before the one refusal, so neither the answer nor the work done
    tells which failed (no padding oracle)."""
    try:
        raw = base64.b64decode(encrypt_b64, validate=True) if isinstance(encrypt_b64, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) < 2 * BLOCK or len(raw) % BLOCK:
        raise CallbackRejected(UNOPENED)
    padded = AES.new(_key(encrypt_key), AES.MODE_CBC, raw[:BLOCK]).decrypt(raw[BLOCK:])
    pad = padded[-1]
    cut = pad if 1 <= pad <= BLOCK else BLOCK
    padded_well = hmac.compare_digest(padded[-cut:], bytes([pad]) * cut) and cut == pad
    text, utf8 = _utf8(padded[:-cut])
    if not (padded_well and utf8):
        raise CallbackRejected(UNOPENED)
    return text


def _utf8(data: bytes) -> tuple[str, bool]:
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        return "", False


def signature(timestamp: str, nonce: str, encrypt_key: str, raw_body: bytes) -> str:
    """``X-Lark-Signature`` of an event or a ``card.action.trigger`` callback."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + raw_body).hexdigest()


def legacy_card_signature(timestamp: str, nonce: str, verification_token: str, raw_body: bytes) -> str:
    """``X-Lark-Signature`` of a legacy 消息卡片请求网址 callback."""
    return hashlib.sha1((timestamp + nonce + verification_token).encode("utf-8") + raw_body).hexdigest()
