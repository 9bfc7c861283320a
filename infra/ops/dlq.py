"""Dead-lettered messages: each queue's DLQ listed with the error of the message's last attempt, and
replayed to the queue it came from (deleted from the DLQ only once SQS took it back).

The error is the one the handler recorded (chalicelib.store.failures, by message id) or, for a message the
app parked itself as invalid, the ``error`` attribute it was parked with.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from chalicelib.common import aws, queues, schema
from chalicelib.store import failures
from infra.ops.progress import bar

HOLD = 120  # seconds a listed message stays invisible to others while we look at or replay it
POLL = 1  # long poll: a short one may miss messages of a small queue (it samples SQS's servers)
PREVIEW = 80


@dataclass(frozen=True)
class DeadLetter:
    queue: str  # the queue it came from (logical name)
    message_id: str
    body: str
    receipt: str
    sent_at: str
    receives: int
    attributes: dict
    error: str


def _error(message: dict) -> str:
    parked = message.get("MessageAttributes", {}).get("error", {}).get("StringValue")
    if parked:
        return parked
    found = failures.recorded(message["MessageId"])
    return f"{found['at']} {found['error']}" if found else "(no error recorded)"


def _letter(queue: str, message: dict) -> DeadLetter:
    sent = int(message["Attributes"]["SentTimestamp"]) / 1000
    kept = {name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
            for name, value in message.get("MessageAttributes", {}).items() if name != "error"}
    return DeadLetter(queue, message["MessageId"], message["Body"], message["ReceiptHandle"],
                      dt.datetime.fromtimestamp(sent, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
                      int(message["Attributes"].get("ApproximateReceiveCount", 0)), kept, _error(message))


def held() -> list[DeadLetter]:
    """Every DLQ's messages, each made invisible to other readers for ``HOLD`` seconds (``release`` ends it)."""
    sqs, found = aws.client("sqs"), {}
    for queue in schema.QUEUES:
        url = aws.queue_url(schema.dlq_name(queue))
        while messages := sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=queues.BATCH, VisibilityTimeout=HOLD, WaitTimeSeconds=POLL,
                AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", []):
            for message in messages:
                found[message["MessageId"]] = _letter(queue.logical, message)  # SQS deletes by the newest receipt
    return list(found.values())


def release(letters: list[DeadLetter]) -> None:
    """Make messages visible again at once (they were only looked at)."""
    sqs = aws.client("sqs")
    for queue in {letter.queue for letter in letters}:
        mine = [letter for letter in letters if letter.queue == queue]
        for start in range(0, len(mine), queues.BATCH):
            sqs.change_message_visibility_batch(QueueUrl=aws.queue_url(f"{queue}-dlq"), Entries=[
                {"Id": str(n), "ReceiptHandle": letter.receipt, "VisibilityTimeout": 0}
                for n, letter in enumerate(mine[start:start + queues.BATCH])])


def send_back(letter: DeadLetter) -> None:
    """Re-send to the source queue, then delete from the DLQ: a failed send leaves it where it was."""
    sqs = aws.client("sqs")
    sqs.send_message(QueueUrl=aws.queue_url(letter.queue), MessageBody=letter.body,
                     **({"MessageAttributes": letter.attributes} if letter.attributes else {}))
    sqs.delete_message(QueueUrl=aws.queue_url(f"{letter.queue}-dlq"), ReceiptHandle=letter.receipt)
    failures.forget(letter.message_id)


def show(console: Console) -> int:
    letters = held()
    release(letters)
    table = Table("queue", "message id", "sent (UTC)", "receives", "error", "body", title="dead-lettered messages")
    for letter in sorted(letters, key=lambda x: (x.queue, x.sent_at)):
        body = letter.body if len(letter.body) <= PREVIEW else letter.body[:PREVIEW] + "…"
        table.add_row(letter.queue, letter.message_id, letter.sent_at, str(letter.receives), letter.error, body)
    if letters:
        console.print(table)
    console.print(_counts(letters, "dead-lettered"))
    return 0


def replay(console: Console, ids: list[str] | None) -> int:
    """Replay the messages ``ids`` (every one when None); 1 when an id was not found or a send failed."""
    letters = held()
    chosen = [letter for letter in letters if ids is None or letter.message_id in ids]
    release([letter for letter in letters if letter not in chosen])
    replayed, failed = [], []
    with bar(console) as progress:
        task = progress.add_task("replaying", total=len(chosen))
        for letter in chosen:
            try:
                send_back(letter)
                replayed.append(letter)
            except aws.UNREACHABLE as exc:
                failed.append((letter, f"{type(exc).__name__}: {exc}"))
            progress.advance(task)
    release([letter for letter, _ in failed])
    missing = sorted(set(ids or ()) - {letter.message_id for letter in letters})
    console.print(_counts(replayed, "replayed"))
    for letter, reason in failed:
        console.print(f"[red]not replayed[/red] {letter.message_id}: {reason}")
    for message_id in missing:
        console.print(f"[red]not in any DLQ[/red] {message_id}")
    return 1 if failed or missing else 0


def _counts(letters: list[DeadLetter], what: str) -> str:
    per_queue = {}
    for letter in letters:
        per_queue[letter.queue] = per_queue.get(letter.queue, 0) + 1
    detail = ", ".join(f"{queue}: {count}" for queue, count in sorted(per_queue.items()))
    return f"{len(letters)} {what} message(s)" + (f" ({detail})" if detail else "")
