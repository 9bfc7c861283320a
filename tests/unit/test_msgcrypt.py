"""The shared DingTalk/WeCom envelope against the official DingTalk test vector."""
from __future__ import annotations

import base64

import pytest

from chalicelib.errors import CallbackRejected
from chalicelib.platforms.msgcrypt import MsgCrypt

VECTOR = {
    "token": "mryue", "aes_key": "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7", "owner": "ding6ccabc44d2c8d38b",
    "timestamp": "1608001896814", "nonce": "WL4PK6yA",
    "encrypt": "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxO"
               "K+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3",
    "signature": "03044561471240d4a14bb09372dfcfd4fd0e40cb",
}


@pytest.fixture
def crypt():
    return MsgCrypt(VECTOR["token"], VECTOR["aes_key"], VECTOR["owner"])


def test_official_vector_signature_and_plaintext(crypt):
    assert crypt.sign(VECTOR["timestamp"], VECTOR["nonce"], VECTOR["encrypt"]) == VECTOR["signature"]
    crypt.verify(VECTOR["signature"], VECTOR["timestamp"], VECTOR["nonce"], VECTOR["encrypt"])
    assert crypt.decrypt(VECTOR["encrypt"]) == '{"EventType":"check_url"}'


def test_success_reply_matches_the_documented_computation(crypt):
    encrypt = crypt.encrypt("success", b"0123456789abcdef")
    assert encrypt == ("IJtyRhe3IwDdDbVy9KT2PQsXn9Di6CEK7IwoL8L4CQ+xgriQ8Y0sMuvHw0Vv9Ce+6cMGlc1MMsHA2a+tCiq9IA==")
    assert crypt.sign(VECTOR["timestamp"], VECTOR["nonce"], encrypt) == "ec77e7d4fff9fdfd84e6cf9e46c4af1fb49245a5"


def test_round_trip_with_unicode(crypt):
    assert crypt.decrypt(crypt.encrypt('{"title":"数据库告警"}')) == '{"title":"数据库告警"}'


@pytest.mark.parametrize("bad", ["not base64!!", "", base64.b64encode(b"short").decode(),
                                 base64.b64encode(b"x" * 48).decode()])
def test_malformed_ciphertext_is_rejected(crypt, bad):
    with pytest.raises(CallbackRejected):
        crypt.decrypt(bad)


def test_foreign_owner_is_rejected(crypt):
    other = MsgCrypt(VECTOR["token"], VECTOR["aes_key"], "dingOTHER")
    with pytest.raises(CallbackRejected, match="another app"):
        crypt.decrypt(other.encrypt("success"))


def test_forged_signature_is_rejected(crypt):
    with pytest.raises(CallbackRejected):
        crypt.verify("0" * 40, VECTOR["timestamp"], VECTOR["nonce"], VECTOR["encrypt"])


def test_wrong_padding_is_rejected(crypt):
    from Crypto.Cipher import AES
    key = crypt.key
    bad = AES.new(key, AES.MODE_CBC, key[:16]).encrypt(b"A" * 31 + b"\x21")  # pad byte 33 > 32
    with pytest.raises(CallbackRejected, match="padding"):
        crypt.decrypt(base64.b64encode(bad).decode())
