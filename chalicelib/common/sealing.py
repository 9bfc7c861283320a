"""Envelope encryption of secrets at rest: a KMS data key, AES-256-GCM per value.

A sealed value is ``{"key": <KMS-encrypted data key>, "nonce", "data", "tag"}`` (base64). One data
key is reused for a few minutes per process so saving an integration does not cost a KMS call per
field; opened data keys are cached by their ciphertext.
"""
from __future__ import annotations

import base64
import json
import threading

from Crypto.Cipher import AES

from chalicelib.common import aws, clock
from chalicelib.common.config import settings

_CONTEXT = {"app": "dutybridge"}
_REUSE_SECONDS = 300
_lock = threading.Lock()
_sealing_key: tuple[float, bytes, bytes] | None = None
_opened: dict[bytes, bytes] = {}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _data_key() -> tuple[bytes, bytes]:
    global _sealing_key
    with _lock:
        if _sealing_key and clock.now() - _sealing_key[0] < _REUSE_SECONDS:
            return _sealing_key[1], _sealing_key[2]
        answer = aws.client("kms").generate_data_key(
            KeyId=settings().kms_alias, KeySpec="AES_256", EncryptionContext=_CONTEXT)
        _sealing_key = (clock.now(), answer["Plaintext"], answer["CiphertextBlob"])
        _opened[answer["CiphertextBlob"]] = answer["Plaintext"]
        return answer["Plaintext"], answer["CiphertextBlob"]


def _open_key(blob: bytes) -> bytes:
    with _lock:
        if blob in _opened:
            return _opened[blob]
    plain = aws.client("kms").decrypt(CiphertextBlob=blob, EncryptionContext=_CONTEXT)["Plaintext"]
    with _lock:
        _opened[blob] = plain
    return plain


def seal(value: dict) -> dict:
    """Encrypt a JSON-able dict for storage."""
    key, blob = _data_key()
    cipher = AES.new(key, AES.MODE_GCM)
    data, tag = cipher.encrypt_and_digest(json.dumps(value).encode("utf-8"))
    return {"key": _b64(blob), "nonce": _b64(cipher.nonce), "data": _b64(data), "tag": _b64(tag)}


def unseal(sealed: dict) -> dict:
    """Decrypt what ``seal`` produced; a tampered value raises ValueError."""
    key = _open_key(base64.b64decode(sealed["key"]))
    cipher = AES.new(key, AES.MODE_GCM, nonce=base64.b64decode(sealed["nonce"]))
    plain = cipher.decrypt_and_verify(base64.b64decode(sealed["data"]), base64.b64decode(sealed["tag"]))
    return json.loads(plain)


def mask(value: str) -> str:
    """Show just enough of a secret to recognise it: the last 4 characters of long values."""
    return "****" + value[-4:] if len(value) >= 12 else "****"


def reset() -> None:
    global _sealing_key
    with _lock:
        _sealing_key = None
        _opened.clear()
