"""The admin token comes from SSM Parameter Store (a SecureString), cached, and rotates without a redeploy."""
from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest

from chalicelib.common import admin_token, aws, config, schema
from infra.bootstrap import ensure_admin_token
from tests.conftest import ROOT

PARAMETER = schema.parameter_name("dutybridge-test", schema.ADMIN_TOKEN)


@pytest.fixture
def from_ssm(client, monkeypatch):
    """The app set up as deployed: ADMIN_TOKEN_PARAMETER names the parameter, no ADMIN_TOKEN."""
    monkeypatch.setenv("ADMIN_TOKEN_PARAMETER", PARAMETER)
    monkeypatch.delenv("ADMIN_TOKEN")
    config.reset()
    config.settings()  # read now: the chalice test client swaps in the dev stage's environment per request
    aws.client("ssm").put_parameter(Name=PARAMETER, Value="token-one", Type="SecureString", Overwrite=True)
    now = [1000.0]
    monkeypatch.setattr(admin_token, "monotonic", lambda: now[0])
    reads = []
    real = aws.client("ssm").get_parameter
    monkeypatch.setattr(aws.client("ssm"), "get_parameter", lambda **kw: reads.append(kw) or real(**kw))
    return SimpleNamespace(reads=reads, advance=lambda seconds: now.__setitem__(0, now[0] + seconds))


def _status(client, token: str) -> int:
    return client.http.get("/integrations", headers={"Authorization": f"Bearer {token}"}).status_code


def _rotate(value: str) -> None:
    aws.client("ssm").put_parameter(Name=PARAMETER, Value=value, Type="SecureString", Overwrite=True)


def test_the_token_is_read_decrypted_once_for_many_requests(client, from_ssm):
    assert [_status(client, "token-one") for _ in range(5)] == [200] * 5
    assert _status(client, "wrong") == 401
    assert from_ssm.reads == [{"Name": PARAMETER, "WithDecryption": True}]


def test_a_rotated_token_is_taken_within_a_minute_and_the_old_one_refused_after_the_lifetime(client, from_ssm):
    assert _status(client, "token-one") == 200
    _rotate("token-two")
    assert _status(client, "token-two") == 401  # read a moment ago: a wrong token does not drive SSM reads
    from_ssm.advance(admin_token.RECHECK)
    assert _status(client, "token-two") == 200
    _rotate("token-three")
    assert _status(client, "token-two") == 200  # cached
    from_ssm.advance(admin_token.LIFETIME)
    assert _status(client, "token-two") == 401
    assert _status(client, "token-three") == 200
    assert len(from_ssm.reads) == 3


def test_a_missing_parameter_is_a_clear_503_read_at_most_once_a_minute(client, from_ssm, caplog):
    aws.client("ssm").delete_parameter(Name=PARAMETER)
    caplog.set_level(logging.INFO)
    answers = [client.http.get("/integrations", headers={"Authorization": "Bearer token-one"}) for _ in range(3)]
    assert {a.status_code for a in answers} == {503}
    assert json.loads(answers[0].body)["message"].startswith("管理令牌未配置")
    assert len(from_ssm.reads) == 1
    assert PARAMETER in caplog.text and "token-one" not in caplog.text
    _rotate("token-four")
    from_ssm.advance(admin_token.RECHECK)
    assert _status(client, "token-four") == 200


def test_bootstrap_creates_the_parameter_once_and_never_overwrites_it(aws_env):
    ssm = aws.client("ssm")
    first = ssm.get_parameter(Name=PARAMETER, WithDecryption=True)["Parameter"]  # made by the fixture's bootstrap
    assert first["Type"] == "SecureString" and len(first["Value"]) >= 40
    assert ensure_admin_token("dutybridge-test") is False
    assert ssm.get_parameter(Name=PARAMETER, WithDecryption=True)["Parameter"]["Value"] == first["Value"]
    assert ensure_admin_token("dutybridge-other", "chosen") is True
    other = ssm.get_parameter(Name="/dutybridge-other/admin-token", WithDecryption=True)["Parameter"]
    assert other["Value"] == "chosen"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_config_names_the_parameter_and_the_policy_allows_exactly_it(stage):
    environment = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][stage]["environment_variables"]
    name = schema.parameter_name(environment["DUTYBRIDGE_PREFIX"], schema.ADMIN_TOKEN)
    assert environment["ADMIN_TOKEN_PARAMETER"] == name and "ADMIN_TOKEN" not in environment
    statements = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())["Statement"]
    ssm = [s for s in statements if "ssm:" in json.dumps(s["Action"])]
    # no kms:Decrypt for it: the AWS managed key aws/ssm "grants Decrypt permission to all IAM principals in
    # the AWS account" (Systems Manager user guide, "Restricting decryption of SecureString parameter values")
    assert ssm == [{"Sid": "AdminToken", "Effect": "Allow", "Action": "ssm:GetParameter",
                    "Resource": f"arn:aws:ssm:*:*:parameter{name}"}]
