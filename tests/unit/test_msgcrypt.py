"""The shared DingTalk/WeCom envelope against the official DingTalk test vector."""
from __future__ import annotations

import base64

import pytest

from chalicelib.common.errors import CallbackRejected
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


@pytest.mark.parametrize("sig", ["签名", "²" * 40, "\u00e9" + VECTOR["signature"][1:]])
def test_a_non_ascii_signature_is_a_mismatch_not_a_type_error(crypt, sig):
    with pytest.raises(CallbackRejected, match="signature mismatch"):
        crypt.verify(sig, VECTOR["timestamp"], VECTOR["nonce"], VECTOR["encrypt"])


def test_wrong_padding_is_rejected(crypt):
    from Crypto.Cipher import AES
    key = crypt.key
    bad = AES.new(key, AES.MODE_CBC, key[:16]).encrypt(b"A" * 31 + b"\x21")  # pad byte 33 > 32
    with pytest.raises(CallbackRejected, match="padding"):
        crypt.decrypt(base64.b64encode(bad).decode())


WECOM_1 = ("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
WECOM_2 = ("hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "ww1436e0e65a779aee")


@pytest.mark.parametrize("app, timestamp, nonce, echostr, signature, plain", [
    (WECOM_1, "1409659589", "263014780",
     "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
     "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1616140317555161061"),
    (WECOM_2, "1476416373", "47744683",
     "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
     "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1288432023552776189"),
])
def test_official_wecom_url_verification_vectors(app, timestamp, nonce, echostr, signature, plain):
    crypt = MsgCrypt(*app)
    crypt.verify(signature, timestamp, nonce, echostr)
    assert crypt.decrypt(echostr) == plain


def test_official_wecom_message_vector():
    crypt = MsgCrypt(*WECOM_1)
    encrypt = ("RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg"
               "3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ"
               "+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSr"
               "XJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m"
               "3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==")
    crypt.verify("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", encrypt)
    message = crypt.decrypt(encrypt)
    assert len(message.encode()) == 284 and "<Content><![CDATA[hello]]></Content>" in message
    assert "4561255354251345929" in message
