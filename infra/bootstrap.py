"""Create the stage's DynamoDB tables, SQS queues (each with a DLQ), KMS key and admin token, idempotently.

    python -m infra.bootstrap --prefix dutybridge-dev
    python -m infra.bootstrap --prefix dutybridge-prod --admin-token-only   # a stack from infra.package

Works against real AWS or an emulator (``AWS_ENDPOINT_URL``). Everything comes from
chalicelib.common.schema, the same definitions the tests and the local runtime use.
"""
from __future__ import annotations

import argparse
import json
import secrets
import time

from botocore.exceptions import ClientError

from chalicelib.common import aws, schema

INDEX_POLL_SECONDS = 5


def _table_spec(table: schema.Table, name: str) -> dict:
    spec = {"TableName": name, "KeySchema": table.key_schema(), "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": table.attribute_definitions()}
    if table.indexes:
        spec["GlobalSecondaryIndexes"] = table.index_specs()
    return spec


def ensure_table(table: schema.Table, prefix: str) -> None:
    client, name = aws.client("dynamodb"), f"{prefix}-{table.logical}"
    try:
        client.create_table(**_table_spec(table, name))
        client.get_waiter("table_exists").wait(TableName=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        _add_missing_indexes(client, table, name)
    if table.ttl_attribute:
        status = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["TimeToLiveStatus"]
        if status in ("DISABLED", "DISABLING"):
            client.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": table.ttl_attribute})


def _add_missing_indexes(client, table: schema.Table, name: str) -> None:
    """A table made by an older release gets the indexes added since (DynamoDB builds one at a time)."""
    existing = {i["IndexName"] for i in _indexes(client, name)}
    for spec in table.index_specs():
        if spec["IndexName"] not in existing:
            client.update_table(TableName=name, AttributeDefinitions=table.attribute_definitions(),
                                GlobalSecondaryIndexUpdates=[{"Create": spec}])
            while any(i.get("IndexStatus", "ACTIVE") != "ACTIVE" for i in _indexes(client, name)):
                time.sleep(INDEX_POLL_SECONDS)


def _indexes(client, name: str) -> list[dict]:
    return client.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])


def ensure_queue(queue: schema.Queue, prefix: str) -> None:
    sqs = aws.client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-{schema.dlq_name(queue)}", Attributes={
        "MessageRetentionPeriod": str(queue.dlq_retention_seconds)})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"VisibilityTimeout": str(queue.visibility_timeout), "RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receive_count)})}
    url = sqs.create_queue(QueueName=f"{prefix}-{queue.logical}")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)


def ensure_key(prefix: str) -> None:
    kms, alias = aws.client("kms"), f"alias/{prefix}"
    aliases = {a["AliasName"] for page in kms.get_paginator("list_aliases").paginate() for a in page["Aliases"]}
    if alias not in aliases:
        key_id = kms.create_key(Description=f"{prefix} secrets at rest")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)


def ensure_admin_token(prefix: str, value: str | None = None) -> bool:
    """Create the admin token's SecureString (under the account's aws/ssm key) holding ``value``, else a
    generated token; an existing one is never overwritten. True when this call created it.
    CloudFormation cannot create a SecureString ("SecureString isn't currently supported for
    CloudFormation templates", SSM PutParameter's Type), so the packaged template leaves it to this."""
    try:
        aws.client("ssm").put_parameter(
            Name=schema.parameter_name(prefix, schema.ADMIN_TOKEN), Type="SecureString", Overwrite=False,
            Value=value or secrets.token_urlsafe(32), Description=f"{prefix} admin API bearer token")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ParameterAlreadyExists":
            raise
        return False
    return True


def list_integrations(prefix: str) -> None:
    """Integrations stored before the listing index existed are listed in it (later runs find none)."""
    from chalicelib.store.integrations import LISTED

    client, name = aws.client("dynamodb"), f"{prefix}-integrations"
    for page in client.get_paginator("scan").paginate(TableName=name, ProjectionExpression="id",
                                                      FilterExpression="attribute_not_exists(listing)"):
        for item in page["Items"]:
            try:
                client.update_item(TableName=name, Key={"id": item["id"]}, UpdateExpression="SET listing = :listed",
                                   ConditionExpression="attribute_exists(id)",
                                   ExpressionAttributeValues={":listed": {"S": LISTED}})
            except ClientError as exc:  # deleted meanwhile
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise


def bootstrap(prefix: str, admin_token: str | None = None) -> None:
    for table in schema.TABLES:
        ensure_table(table, prefix)
    list_integrations(prefix)
    for queue in schema.QUEUES:
        ensure_queue(queue, prefix)
    ensure_key(prefix)
    ensure_admin_token(prefix, admin_token)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True, help="resource prefix of the stage, e.g. dutybridge-dev")
    parser.add_argument("--admin-token-only", action="store_true",
                        help="create only the admin token parameter (the tables, queues and key come from the stack)")
    args = parser.parse_args()
    if args.admin_token_only:
        ensure_admin_token(args.prefix)
    else:
        bootstrap(args.prefix)
    name = schema.parameter_name(args.prefix, schema.ADMIN_TOKEN)
    print(f"bootstrap complete; the admin token (never overwritten here; put-parameter --overwrite rotates it):\n"
          f"  aws ssm get-parameter --name {name} --with-decryption --query Parameter.Value --output text")


if __name__ == "__main__":
    main()
