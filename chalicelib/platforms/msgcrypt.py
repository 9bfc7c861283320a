"""The encrypted callback envelope DingTalk and WeCom share.

Both platforms sign callbacks with SHA-1 over the sorted (token, timestamp, nonce, encrypt)
strings and encrypt them with AES-256-CBC whose key is the 43-character EncodingAESKey plus "=",
IV = key[:16], PKCS#7 padded to a 32-byte block. The plaintext is
random(16) || len(msg) as 4 big-endian bytes || msg || owner id (DingTalk: the AppKey;
WeCom: the CorpID or suite id). One implementation serves both platforms and their simulators.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from Crypto.Cipher import AES

from chalicelib.common.errors import CallbackRejected

BLOCK = 32


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """SHA-1 hex of the four strings sorted and concatenated."""
    joined = "".join(sorted([token, timestamp, nonce, encrypt]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    """Decode the 43-character EncodingAESKey into the 32-byte AES key."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("EncodingAESKey is not base64") from exc
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise ValueError("EncodingAESKey must be 43 characters decoding to 32 bytes")
    return key


class MsgCrypt:
    """Sign, verify, encrypt and decrypt callback envelopes for one app."""

    def __init__(self, token: str, encoding_aes_key: str, owner_id: str) -> None:
        self.token = token
        self.key = aes_key(encoding_aes_key)
        self.owner_id = owner_id

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return signature(self.token, timestamp, nonce, encrypt)

    def verify(self, sig: str, timestamp: str, nonce: str, encrypt: str) -> None:
        """Raise CallbackRejected unless ``sig`` signs the other three values (compared as bytes: a
        non-ASCII ``sig`` is a mismatch, not a TypeError)."""
        expected = self.sign(timestamp, nonce, encrypt).encode("ascii")
        if not hmac.compare_digest(expected, (sig or "").lower().encode("utf-8", "replace")):
            raise CallbackRejected("signature mismatch")

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        random16 = random16 if random16 is not None else os.urandom(16)
        body = message.encode("utf-8")
        plain = random16 + struct.pack(">I", len(body)) + body + self.owner_id.encode("utf-8")
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        cipher = AES.new(self.key, AES.MODE_CBC, self.key[:16])
        return base64.b64encode(cipher.encrypt(plain)).decode("ascii")

    def decrypt(self, encrypt: str) -> str:
        """Return the message, or raise CallbackRejected for any malformed or foreign envelope."""
        message, owner = self.open(encrypt)
        if not hmac.compare_digest(owner, self.owner_id.encode("utf-8")):
            raise CallbackRejected("envelope is for another app")
        return message

    def open(self, encrypt: str) -> tuple[str, bytes]:
        """Decrypt without judging the owner: (message, owner id)."""
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CallbackRejected("encrypt is not base64") from exc
        if not data or len(data) % AES.block_size:
            raise CallbackRejected("ciphertext length is not a multiple of 16")
        plain = AES.new(self.key, AES.MODE_CBC, self.key[:16]).decrypt(data)
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CallbackRejected("bad PKCS#7 padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CallbackRejected("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, owner = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length:
            raise CallbackRejected("declared length exceeds plaintext")
        try:
            return message.decode("utf-8"), owner
        except UnicodeDecodeError as exc:
            raise CallbackRejected("message is not UTF-8") from exc
