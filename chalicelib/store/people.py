"""Members (on-call identities) and their bindings to platform users, per integration.

The fan-out reads a member with their bindings on every notification (``reachable``); a warm
container keeps that for CACHE_SECONDS, so a change made elsewhere pages by it within that time
(every write here forgets it at once in this container).
"""
from __future__ import annotations

import copy

from boto3.dynamodb.conditions import Attr, Key

from chalicelib.common import aws, warm
from chalicelib.common.errors import AlreadyExists, NotFound, StorageConflict
from chalicelib.common.ids import is_id
from chalicelib.store.base import conditional, dynamo, plain, query_all, scan_all

CACHE_SECONDS = 10
_SPACE, _USERS = "reachable", "user"  # a member with their bindings; a platform user's member


def _members():
    return aws.table("members")


def _bindings():
    return aws.table("bindings")


def create_member(item: dict) -> None:
    """Store a new member; AlreadyExists when the id is taken."""
    try:
        conditional(_members().put_item, f"member {item['id']}", Item=dynamo(item),
                    ConditionExpression=Attr("id").not_exists())
    except StorageConflict as exc:
        raise AlreadyExists(f"member {item['id']} already exists") from exc
    finally:
        _forget(item["id"])


def get_member(member_id: str) -> dict | None:
    if not is_id(member_id):  # no such key can exist (and DynamoDB refuses oversized keys)
        return None
    item = _members().get_item(Key={"id": member_id}).get("Item")
    return plain(item) if item else None


def page_of_members(limit: int, after: str | None) -> tuple[list[dict], str | None]:
    """Up to ``limit`` members from the one after ``after`` (a member id); and the id to continue after, None
    at the end. A scan page may hold fewer than ``limit`` (DynamoDB stops at 1 MB): the caller continues."""
    kwargs = {"Limit": limit, **({"ExclusiveStartKey": {"id": after}} if after else {})}
    page = _members().scan(**kwargs)
    last = page.get("LastEvaluatedKey")
    return [plain(item) for item in page.get("Items", [])], last["id"] if last else None


def change_member(member_id: str, sets: dict, removes: list[str]) -> dict:
    """Set and remove fields of an existing member; NotFound when there is none. Returns the member."""
    names = {f"#{k}": k for k in [*sets, *removes]}
    expression = ("SET " + ", ".join(f"#{k} = :{k}" for k in sets) + " " if sets else "") + (
        "REMOVE " + ", ".join(f"#{k}" for k in removes) if removes else "")
    kwargs = {"ExpressionAttributeValues": {f":{k}": v for k, v in dynamo(sets).items()}} if sets else {}
    try:
        answer = conditional(_members().update_item, f"member {member_id}", Key={"id": member_id},
                             UpdateExpression=expression, ConditionExpression=Attr("id").exists(),
                             ExpressionAttributeNames=names, ReturnValues="ALL_NEW", **kwargs)
    except StorageConflict as exc:
        raise NotFound(f"member {member_id} does not exist") from exc
    finally:
        _forget(member_id)
    return plain(answer["Attributes"])


def delete_member(member_id: str) -> bool:
    """Remove a member and every binding of theirs; False when there was no such member."""
    for item in bindings_of(member_id):
        unbind(member_id, item["integration_id"])
    answer = _members().delete_item(Key={"id": member_id}, ReturnValues="ALL_OLD")
    _forget(member_id)
    return "Attributes" in answer


def unbind(member_id: str, integration_id: str) -> bool:
    """Remove one binding; False when there was none."""
    answer = _bindings().delete_item(Key={"member_id": member_id, "integration_id": integration_id},
                                     ReturnValues="ALL_OLD")
    _forget(member_id)
    return "Attributes" in answer


def all_members() -> list[dict]:
    return scan_all(_members())


def members_with(field: str, value: str) -> list[dict]:
    """Members whose ``mobile`` or ``email`` equals ``value`` (sparse index)."""
    return query_all(_members(), IndexName=f"by_{field}", KeyConditionExpression=Key(field).eq(value))


def user_key(integration_id: str, user_id: str) -> str:
    return f"{integration_id}#{user_id}"


def bind(member_id: str, integration_id: str, user_id: str, display_name: str, at: str) -> None:
    _bindings().put_item(Item=dynamo({
        "member_id": member_id, "integration_id": integration_id, "user_id": user_id,
        "user_key": user_key(integration_id, user_id), "display_name": display_name, "linked_at": at}))
    _forget(member_id)


def reachable(member_id: str) -> tuple[dict | None, list[dict]]:
    """The member (None when there is none) and their bindings, as the fan-out pages them: up to
    CACHE_SECONDS old in a warm container."""
    return copy.deepcopy(warm.read(_SPACE, member_id, CACHE_SECONDS,
                                   lambda: (get_member(member_id), bindings_of(member_id))))


def bindings_of(member_id: str) -> list[dict]:
    return query_all(_bindings(), KeyConditionExpression=Key("member_id").eq(member_id))


def binding(member_id: str, integration_id: str) -> dict | None:
    item = _bindings().get_item(Key={"member_id": member_id, "integration_id": integration_id}).get("Item")
    return plain(item) if item else None


def member_of_user(integration_id: str, user_id: str) -> dict | None:
    """The member a platform user is bound to (None: not linked), as a click finds them: up to
    CACHE_SECONDS old in a warm container."""
    def load() -> dict | None:
        binding = binding_of_user(integration_id, user_id)
        return get_member(binding["member_id"]) if binding else None
    return copy.deepcopy(warm.read(_USERS, user_key(integration_id, user_id), CACHE_SECONDS, load))


def binding_of_user(integration_id: str, user_id: str) -> dict | None:
    found = query_all(_bindings(), IndexName="by_user",
                      KeyConditionExpression=Key("user_key").eq(user_key(integration_id, user_id)))
    return found[0] if found else None


def unbind_integration(integration_id: str) -> None:
    for item in scan_all(_bindings(), FilterExpression=Attr("integration_id").eq(integration_id)):
        _bindings().delete_item(Key={"member_id": item["member_id"], "integration_id": integration_id})
    _forget(None)


def _forget(member_id: str | None) -> None:
    """A write here: the fan-out's copy of the member (every member's when None) and every click's."""
    warm.forget(_SPACE, member_id)
    warm.forget(_USERS)
