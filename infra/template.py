"""Write the CloudFormation resources that ``chalice package --merge-template`` folds in.

    python -m infra.template --prefix dutybridge-prod > infra/resources-prod.json

The tables, queues (with DLQs and redrive) and KMS key come from chalicelib.common.schema, like the
bootstrap's, so the packaged template and a bootstrapped stage hold the same resources. The one
exception is the admin token: CloudFormation cannot create a SecureString parameter, so a stack deployed
from this template gets it from ``python -m infra.bootstrap --prefix … --admin-token-only``.
"""
from __future__ import annotations

import argparse
import json
import re

from chalicelib.common import schema


def _logical_id(*parts: str) -> str:
    return "".join(p.capitalize() for part in parts for p in re.split(r"[-_]", part))


def _table(table: schema.Table, prefix: str) -> dict:
    props = {"TableName": f"{prefix}-{table.logical}", "BillingMode": "PAY_PER_REQUEST",
             "KeySchema": table.key_schema(), "AttributeDefinitions": table.attribute_definitions()}
    if table.indexes:
        props["GlobalSecondaryIndexes"] = table.index_specs()
    if table.ttl_attribute:
        props["TimeToLiveSpecification"] = {"AttributeName": table.ttl_attribute, "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", "Properties": props}


def _queues(queue: schema.Queue, prefix: str) -> dict:
    dlq, main = _logical_id(queue.logical, "dlq"), _logical_id(queue.logical, "queue")
    # Chalice names the consuming function after the handler; its event source needs the queue first.
    consumer = {_logical_id(queue.logical): {"DependsOn": [main]}} if queue.consumed else {}
    return {**consumer,
        dlq: {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": f"{prefix}-{schema.dlq_name(queue)}", "MessageRetentionPeriod": queue.dlq_retention_seconds}},
        main: {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": f"{prefix}-{queue.logical}", "VisibilityTimeout": queue.visibility_timeout,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
                              "maxReceiveCount": queue.max_receive_count}}},
    }


def resources(prefix: str) -> dict:
    found: dict = {_logical_id(t.logical, "table"): _table(t, prefix) for t in schema.TABLES}
    for queue in schema.QUEUES:
        found.update(_queues(queue, prefix))
    found["SecretsKey"] = {"Type": "AWS::KMS::Key", "Properties": {
        "Description": f"{prefix} secrets at rest", "EnableKeyRotation": True,
        "KeyPolicy": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}},
            "Action": "kms:*", "Resource": "*"}]}}}
    found["SecretsKeyAlias"] = {"Type": "AWS::KMS::Alias", "Properties": {
        "AliasName": f"alias/{prefix}", "TargetKeyId": {"Ref": "SecretsKey"}}}
    return {"Resources": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True)
    print(json.dumps(resources(parser.parse_args().prefix), indent=2))


if __name__ == "__main__":
    main()
