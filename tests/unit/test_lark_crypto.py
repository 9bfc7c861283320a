"""Feishu/Lark callback crypto against the official vectors."""
from __future__ import annotations

import pytest

from chalicelib.common.errors import CallbackRejected
from chalicelib.platforms.feishu import crypto as lark_crypto

BODY = b'{"encrypt":"P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="}'


def test_official_decryption_vector():
    assert lark_crypto.decrypt("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=") == "hello world"


def test_signature_example():
    expected = "69c61fa99760d59824d588297c0036194769fb54331682c9cbcd93e85b9a8aad"
    assert lark_crypto.signature("1700000000", "abc123", "test key", BODY) == expected


def test_round_trip_and_wrong_key():
    sealed = lark_crypto.encrypt("k1", '{"告警": 1}')
    assert lark_crypto.decrypt("k1", sealed) == '{"告警": 1}'
    with pytest.raises(CallbackRejected):
        lark_crypto.decrypt("k2", sealed)


@pytest.mark.parametrize("bad", ["", "!!!", "aGVsbG8=", "A" * 44])
def test_malformed_input_is_rejected(bad):
    with pytest.raises(CallbackRejected):
        lark_crypto.decrypt("test key", bad)
