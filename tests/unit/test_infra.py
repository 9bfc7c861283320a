"""The packaged template and the bootstrap come from the same schema."""
from __future__ import annotations

import json

from chalicelib.common import schema
from infra.template import resources


def test_template_holds_every_table_queue_dlq_and_the_key():
    found = resources("dutybridge-prod")["Resources"]
    tables = {r["Properties"]["TableName"] for r in found.values() if r.get("Type") == "AWS::DynamoDB::Table"}
    queues = {r["Properties"]["QueueName"] for r in found.values() if r.get("Type") == "AWS::SQS::Queue"}
    assert tables == {f"dutybridge-prod-{t.logical}" for t in schema.TABLES}
    assert queues == {f"dutybridge-prod-{q.logical}{suffix}" for q in schema.QUEUES for suffix in ("", "-dlq")}
    assert found["SecretsKeyAlias"]["Properties"]["AliasName"] == "alias/dutybridge-prod"
    ephemeral = next(r for r in found.values()
                     if r.get("Properties", {}).get("TableName") == "dutybridge-prod-ephemeral")
    assert ephemeral["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_consumed_queues_exist_before_their_functions_and_redrive_to_their_dlq():
    found = resources("p")["Resources"]
    assert found["Notifications"] == {"DependsOn": ["NotificationsQueue"]}
    redrive = found["DeliveriesQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeliveriesDlq", "Arn"]}
    assert json.dumps(found)  # serialisable as the merge template


def test_bootstrap_is_idempotent(aws_env):
    from chalicelib.common import aws
    from infra.bootstrap import bootstrap
    bootstrap("dutybridge-test")
    names = aws.client("dynamodb").list_tables()["TableNames"]
    assert sorted(names) == sorted(f"dutybridge-test-{t.logical}" for t in schema.TABLES)


def test_bootstrap_adds_the_indexes_an_older_release_did_not_have(aws_env):
    from chalicelib.common import aws
    from infra.bootstrap import bootstrap
    client, name = aws.client("dynamodb"), "dutybridge-old-deliveries"
    deliveries = next(t for t in schema.TABLES if t.logical == "deliveries")
    client.create_table(TableName=name, KeySchema=deliveries.key_schema(), BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                              for n in (deliveries.hash_key, deliveries.range_key)])
    bootstrap("dutybridge-old")
    indexes = client.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
    assert [i["IndexName"] for i in indexes] == [i.name for i in deliveries.indexes]


def test_template_leaves_the_admin_token_to_the_bootstrap():
    """CloudFormation cannot create a SecureString; a plain String in the stack would hold the token in clear."""
    found = resources("dutybridge-prod")["Resources"]
    assert not [r for r in found.values() if r.get("Type") == "AWS::SSM::Parameter"]
