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


# Import names of what requirements.txt installs (→ the requirement that brings them), and what the Lambda Python
# runtime provides itself.
PACKAGED = {"requests": "requests", "urllib3": "requests", "certifi": "requests", "Crypto": "pycryptodome",
            "pydantic": "pydantic", "pydantic_core": "pydantic", "defusedxml": "defusedxml", "jinja2": "jinja2",
            "markupsafe": "jinja2", "chalice": "chalice"}  # chalice packages its own runtime part (chalice.app)
RUNTIME_PROVIDES = {"boto3", "botocore"}


def test_the_package_carries_every_import_of_the_app_the_runtime_lacks_and_nothing_it_has():
    import ast
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    imported = set()
    for path in [root / "app.py", *(root / "chalicelib").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            imported |= {name.split(".")[0] for name in names}
    third_party = imported - set(sys.stdlib_module_names) - {"chalicelib", "__future__"}
    required = {line.split("==")[0].strip().lower() for line in (root / "requirements.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    assert third_party - RUNTIME_PROVIDES <= set(PACKAGED)
    assert {PACKAGED[name] for name in third_party - RUNTIME_PROVIDES if name != "chalice"} <= required
    assert not required & {"boto3", "botocore", "s3transfer", "jmespath"}


def test_the_size_report_names_the_package_and_its_largest_parts(tmp_path):
    import zipfile

    from infra.package import size_report

    archive = tmp_path / "deployment.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zipped:
        zipped.writestr("Crypto/Cipher/_AES.so", b"x" * 300_000)
        zipped.writestr("chalicelib/app.py", b"y" * 100_000)
    report = size_report(archive)
    assert report.startswith("deployment.zip: 0.4 MB (0.4 MB unpacked); largest: Crypto 0.3 MB, chalicelib 0.1 MB")


# boto3 methods the app calls → the IAM actions they need ("ConditionCheck" inside a transaction needs its own).
DYNAMODB_ACTIONS = {"get_item": "GetItem", "put_item": "PutItem", "update_item": "UpdateItem",
                    "delete_item": "DeleteItem", "query": "Query", "scan": "Scan", "batch_get_item": "BatchGetItem",
                    "transact_write_items": "PutItem", "ConditionCheck": "ConditionCheckItem"}


def test_each_stages_policy_allows_every_dynamodb_operation_the_app_makes():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    used = set()
    for path in (root / "chalicelib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "value", None)
            if isinstance(name, str) and name in DYNAMODB_ACTIONS:
                used.add(f"dynamodb:{DYNAMODB_ACTIONS[name]}")
    assert "dynamodb:ConditionCheckItem" in used
    for stage in ("dev", "prod"):
        policy = json.loads((root / ".chalice" / f"policy-{stage}.json").read_text())
        allowed = {action for statement in policy["Statement"] for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])}
        assert used <= allowed, (stage, used - allowed)
