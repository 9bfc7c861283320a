"""The operator CLI (``python -m infra.ops``) on moto: dead letters, members from CSV, linking, health."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.common import aws, queues, schema
from chalicelib.flows import consumers
from chalicelib.routes import workers
from chalicelib.store import failures, people
from infra.ops.cli import main
from tests.conftest import drain
from tests.factories import member, notification


@pytest.fixture(autouse=True)
def _wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # rich wraps table cells to the terminal's width


def run(capsys, *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().out


# -- dead letters ---------------------------------------------------------------------------------

def _fail_until_dead_lettered(monkeypatch) -> str:
    """A notification whose handling keeps raising, redelivered until SQS moves it to the DLQ."""
    def broken(_notification):
        raise RuntimeError("storage exploded")

    monkeypatch.setattr(consumers, "accept", broken)
    sqs, url = aws.client("sqs"), aws.queue_url("notifications")
    message_id = sqs.send_message(QueueUrl=url, MessageBody=json.dumps(notification()))["MessageId"]
    queue = next(q for q in schema.QUEUES if q.logical == "notifications")
    for _ in range(queue.max_receive_count):
        message = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]
        event = {"Records": [{"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                              "body": message["Body"], "attributes": {}, "messageAttributes": {},
                              "eventSource": "aws:sqs"}]}
        with pytest.raises(RuntimeError):
            workers.notifications(event, None)
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None  # moved to the DLQ on this receive
    return message_id


def test_a_failing_handler_records_its_error_and_dlq_list_shows_it(aws_env, monkeypatch, capsys):
    message_id = _fail_until_dead_lettered(monkeypatch)
    queues.park("deliveries", "<not json>", "body: invalid JSON")
    status, out = run(capsys, "dlq", "list")
    assert status == 0
    assert message_id in out and "RuntimeError: storage exploded" in out
    assert "body: invalid JSON" in out and "<not json>" in out
    assert "2 dead-lettered message(s) (deliveries: 1, notifications: 1)" in out
    status, again = run(capsys, "dlq", "list")  # listing gave them back at once
    assert "2 dead-lettered" in again


def test_a_handled_message_records_nothing(aws_env, fake_platform):
    body = json.dumps(notification(members=()))
    workers.notifications({"Records": [{"messageId": "m-ok", "receiptHandle": "r", "body": body}]}, None)
    assert failures.recorded("m-ok") is None


def test_replay_all_sends_back_to_the_source_queue_and_empties_the_dlqs(aws_env, monkeypatch, capsys):
    message_id = _fail_until_dead_lettered(monkeypatch)
    queues.park("deliveries", "<not json>", "body: invalid JSON")
    status, out = run(capsys, "dlq", "replay", "--all")
    assert status == 0 and "2 replayed message(s)" in out
    assert [m["body"] for m in drain("notifications")] == [notification()]
    replayed = drain("deliveries")
    assert [m["body"] for m in replayed] == ["<not json>"] and replayed[0]["attributes"] == {}
    assert drain("notifications-dlq") == [] and drain("deliveries-dlq") == []
    assert failures.recorded(message_id) is None


def test_replay_by_id_leaves_the_others_visible_and_says_which_ids_it_did_not_find(aws_env, capsys):
    queues.park("deliveries", "first", "e1")
    queues.park("war-rooms", "second", "e2")
    sqs = aws.client("sqs")
    first = sqs.receive_message(QueueUrl=aws.queue_url("deliveries-dlq"), VisibilityTimeout=0)["Messages"][0]
    status, out = run(capsys, "dlq", "replay", "--id", first["MessageId"], "--id", "no-such-id")
    assert status == 1 and "1 replayed message(s) (deliveries: 1)" in out and "not in any DLQ no-such-id" in out
    assert [m["body"] for m in drain("deliveries")] == ["first"]
    assert [m["body"] for m in drain("war-rooms-dlq")] == ["second"]  # visible again at once


def test_a_failed_send_leaves_the_message_in_its_dlq(aws_env, monkeypatch, capsys):
    from botocore.exceptions import ClientError
    queues.park("deliveries", "kept", "e")
    sqs = aws.client("sqs")

    def refused(**_kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "SendMessage")

    monkeypatch.setattr(sqs, "send_message", refused)
    status, out = run(capsys, "dlq", "replay", "--all")
    assert status == 1 and "not replayed" in out and "AccessDenied" in out
    assert [m["body"] for m in drain("deliveries-dlq")] == ["kept"]


# -- members import -------------------------------------------------------------------------------

def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "members.csv"
    path.write_text(text, encoding="utf-8-sig")
    return str(path)


def test_import_stores_the_good_rows_and_lists_the_bad_ones_with_line_and_reason(aws_env, tmp_path, capsys):
    member("carol", "Carol")
    path = _csv(tmp_path, "\n".join([
        "id,name,mobile,email",
        "alice,Alice,13800000001,alice@example.com",
        "bob,Bob,,not-an-email",
        "carol,Carol again,,",
        "alice,Alice twice,,",
        '"dave","Dave ""D""",13800000004,',
        "erin,Erin,,,extra",
        ",,,",
        "frank,,,",
    ]) + "\n")
    status, out = run(capsys, "members", "import", path)
    assert status == 1
    assert "2 of 7 member(s) imported, 5 bad row(s)" in out
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 3}
    assert "email" in lines["3"] and "exists" in lines["4"] and "line 2" in lines["5"]
    assert "5 cells" in lines["7"] and "name" in lines["9"]
    assert people.get_member("alice")["mobile"] == "13800000001"
    assert people.get_member("dave")["name"] == 'Dave "D"'
    assert people.get_member("carol")["name"] == "Carol"  # the stored one, untouched
    assert [people.get_member(i) for i in ("bob", "erin", "frank")] == [None, None, None]


def test_import_of_a_clean_file_exits_zero(aws_env, tmp_path, capsys):
    status, out = run(capsys, "members", "import", _csv(tmp_path, "name,id\nAlice,alice\n"))
    assert status == 0 and "1 of 1 member(s) imported, 0 bad row(s)" in out


@pytest.mark.parametrize("header", ["id,name,phone", "name,mobile", "id,name,name"])
def test_import_refuses_a_header_that_does_not_name_the_member_fields(aws_env, tmp_path, capsys, header):
    status, out = run(capsys, "members", "import", _csv(tmp_path, f"{header}\nalice,Alice,x\n"))
    assert status == 2 and "the header must name id, name, email, mobile" in out
    assert people.get_member("alice") is None


# -- linking and health ---------------------------------------------------------------------------

def test_link_all_links_by_mobile_on_every_integration_reaching_people(fake_platform, capsys):
    member("alice", "Alice", "13800000001")
    member("zed", "Zed", "13900000009")
    status, out = run(capsys, "members", "link", "--all")
    assert status == 0 and "1 of 1 integration(s) linked" in out
    row = next(line for line in out.splitlines() if "int_fake" in line)
    assert [cell.strip() for cell in row.split("│")[1:5]] == ["int_fake", "1", "0", "zed"]
    assert people.binding("alice", "int_fake")["user_id"] == "u-alice"


def test_link_of_an_unknown_integration_says_so_and_fails(aws_env, capsys):
    status, out = run(capsys, "members", "link", "int_nope")
    assert status == 1 and "int_nope does not exist" in out


def test_health_shows_each_integrations_stored_summary_and_one_report_in_full(fake_platform, capsys):
    from devkit.schedules import Schedules

    status, out = run(capsys, "health")
    assert status == 0 and "int_fake" in out and "unknown" in out  # not checked yet
    Schedules.invoke("chalicelib.routes.workers.check_health")
    status, out = run(capsys, "health")
    row = next(line for line in out.splitlines() if "int_fake" in line)
    assert status == 0 and "unknown" not in row and any(state in row for state in ("ok", "warning", "failing"))
    status, out = run(capsys, "health", "int_fake")
    shown = json.loads(out)
    assert status == 0 and shown["integration_id"] == "int_fake" and shown["quota"]["integration_id"] == "int_fake"
    status, out = run(capsys, "health", "int_nope")
    assert status == 1 and "int_nope does not exist" in out
