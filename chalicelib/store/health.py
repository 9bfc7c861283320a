"""Each integration's health record: its last check's summary, the last callback seen, the last delivery outcome.

One item per integration in the ephemeral table (key ``health#<integration id>``), each part its own
attribute so the schedule's summary and the marks left by callbacks and deliveries never overwrite one
another. The marks sit on the path of every card and click, so a container writes them sparingly: a
success at most once a minute per integration, a failure whenever its code differs from the last one
this container wrote (the same failure again, at most once a minute).
"""
from __future__ import annotations

from chalicelib.common import aws, clock
from chalicelib.store.base import dynamo, plain

KEEP_SECONDS = 30 * 86400  # refreshed every few minutes by the schedule; a deleted integration's record fades
MARK_EVERY = 60  # seconds between two writes of the same unchanged mark by one container
NOT_CHECKED = {"state": "unknown", "checked_at": None, "problems": ["尚未检查 (not checked yet)"]}
BATCH_KEYS = 100  # BatchGetItem takes at most 100 keys a call (DynamoDB API reference)

_written: dict[tuple[str, str], tuple[float, str]] = {}  # (integration, part) → (when, what) this container wrote


def _table():
    return aws.table("ephemeral")


def _key(integration_id: str) -> dict:
    return {"key": f"health#{integration_id}"}


def _set(integration_id: str, part: str, value: dict) -> None:
    _table().update_item(Key=_key(integration_id), UpdateExpression="SET #part = :value, expires_at = :ttl",
                         ExpressionAttributeNames={"#part": part},
                         ExpressionAttributeValues={":value": dynamo(value), ":ttl": int(clock.now() + KEEP_SECONDS)})


def _throttled(integration_id: str, part: str, value: dict, signature: str) -> bool:
    """Write ``value`` unless this container wrote the same ``signature`` under MARK_EVERY seconds ago;
    True when written."""
    now = clock.now()
    last = _written.get((integration_id, part))
    if last and last[1] == signature and now - last[0] < MARK_EVERY:
        return False
    _set(integration_id, part, value)
    _written[(integration_id, part)] = (now, signature)
    return True


def callback_seen(integration_id: str, endpoint: str) -> bool:
    """A verified callback came to the integration's ``endpoint`` URL (events or card)."""
    return _throttled(integration_id, f"callback_{endpoint}", {"at": clock.iso(), "endpoint": endpoint}, "seen")


def delivered(integration_id: str, outcome: dict) -> bool:
    """The platform's answer to a card or message: ``outcome`` has ``state`` (ok or failed) and, for a failure,
    ``code``, ``kind`` and ``message``. A changed state or code is written at once."""
    signature = f"{outcome['state']}#{outcome.get('code', '')}"
    return _throttled(integration_id, "delivery", {**outcome, "at": clock.iso()}, signature)


def put_summary(integration_id: str, summary: dict) -> None:
    """The state at a glance, as the last check found it (the schedule, or an event such as cancel_auth)."""
    _set(integration_id, "summary", summary)


def get(integration_id: str) -> dict:
    """The integration's record (empty when nothing was recorded yet)."""
    item = _table().get_item(Key=_key(integration_id)).get("Item")
    return plain(item) if item and item["expires_at"] > clock.now() else {}


def many(integration_ids: list[str]) -> dict[str, dict]:
    """The records of ``integration_ids`` (those with one), in batches of BATCH_KEYS."""
    found: dict[str, dict] = {}
    table = _table()
    for start in range(0, len(integration_ids), BATCH_KEYS):
        request = {table.name: {"Keys": [_key(i) for i in integration_ids[start:start + BATCH_KEYS]]}}
        while request:
            answer = table.meta.client.batch_get_item(RequestItems=request)
            for item in answer["Responses"].get(table.name, []):
                if item["expires_at"] > clock.now():
                    found[item["key"].removeprefix("health#")] = plain(item)
            request = answer.get("UnprocessedKeys") or {}
    return found


def summaries(integration_ids: list[str]) -> dict[str, dict]:
    """Integration id → its stored summary; one never checked yet is ``unknown``."""
    records = many(integration_ids)
    return {i: records.get(i, {}).get("summary") or dict(NOT_CHECKED) for i in integration_ids}


def reset() -> None:
    """Forget what this container wrote (tests start each case afresh)."""
    _written.clear()
