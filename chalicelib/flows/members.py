"""Members (on-call identities) through the admin API: listed a page at a time, changed (their 个人渠道
``channels`` among them), deleted with their bindings, unlinked from one integration."""
from __future__ import annotations

from chalicelib.common import clock
from chalicelib.common.errors import InvalidInput, NotFound
from chalicelib.common.ids import is_id
from chalicelib.core.models import MemberIn, MemberPatch
from chalicelib.flows import admin_views
from chalicelib.platforms import adapter_class
from chalicelib.store import integrations, people

DEFAULT_PAGE, MAX_PAGE = 50, 100


def create(body: MemberIn) -> dict:
    item = {**body.model_dump(exclude_none=True), "created_at": clock.iso()}
    people.create_member(item)  # AlreadyExists: 409
    return admin_views.member(item)


def view(member_id: str) -> dict:
    return admin_views.member(_existing(member_id))


def page(limit: str, after: str | None) -> dict:
    """``GET /members?limit=&after=``: ``{"members": [...], "next": id or None}`` (pass ``next`` as ``after``)."""
    if not (limit.isdigit() and len(limit) <= 3 and 1 <= int(limit) <= MAX_PAGE):
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    if after is not None and not is_id(after):
        raise InvalidInput("after must be a member id (the previous page's next)")
    found, following = people.page_of_members(int(limit), after)
    return {"members": [admin_views.member(item) for item in found], "next": following}


def change(member_id: str, patch: MemberPatch) -> dict:
    given = patch.model_dump(exclude_unset=True)
    if given.get("name", "") is None:
        raise InvalidInput("name cannot be removed")
    if given.get("channels"):
        _check_channels(given["channels"])
        given["channels"] = list(dict.fromkeys(given["channels"]))
    if not is_id(member_id):
        raise NotFound(f"member {member_id} does not exist")
    sets = {k: v for k, v in given.items() if v is not None}
    item = people.change_member(member_id, {**sets, "updated_at": clock.iso()},
                                [k for k, v in given.items() if v is None])
    return admin_views.member(item)


def _check_channels(channels: list[str]) -> None:
    """Every channel is an integration that reaches people (a robot reaches only its own group)."""
    for integration_id in channels:
        item = integrations.get(integration_id)
        if item is None:
            raise InvalidInput(f"channels: integration {integration_id} does not exist")
        if not adapter_class(item["platform"]).reaches_people:
            raise InvalidInput(f"channels: {integration_id} is a group robot, it cannot page a person")


def delete(member_id: str) -> None:
    if not is_id(member_id) or not people.delete_member(member_id):
        raise NotFound(f"member {member_id} does not exist")


def unlink(member_id: str, integration_id: str) -> None:
    if not (is_id(member_id) and is_id(integration_id)) or not people.unbind(member_id, integration_id):
        raise NotFound(f"member {member_id} is not linked on integration {integration_id}")


def _existing(member_id: str) -> dict:
    item = people.get_member(member_id)
    if item is None:
        raise NotFound(f"member {member_id} does not exist")
    return item
