"""Link platform users to members: one-click by mobile, or by the user opening the web app once."""
from __future__ import annotations

from chalicelib.common.errors import InvalidInput, NotFound
from chalicelib.core.callback import PlatformUser
from chalicelib.flows import integrations, offboarding
from chalicelib.platforms import adapter_for
from chalicelib.store import people


def link_members(integration_id: str) -> dict:
    """Bind every member whose mobile the platform resolves (Flashduty's one-click linking)."""
    item = integrations.get(integration_id)
    adapter = adapter_for(item)
    linked, already, not_found, skipped = 0, 0, [], []
    for member in sorted(people.all_members(), key=lambda m: m["id"]):
        if people.binding(member["id"], integration_id):
            already += 1
        elif adapter.mobile_miss_limit is not None and len(not_found) >= adapter.mobile_miss_limit:
            skipped.append(member["id"])  # protect the platform's anti-abuse budget for unknown numbers
        elif user_id := adapter.user_by_mobile(member["mobile"]) if member.get("mobile") else None:
            offboarding.bind(member, integration_id, user_id, member["name"])
            linked += 1
        else:
            not_found.append(member["id"])
    return {"linked": linked, "already": already, "not_found": not_found,
            **({"skipped": skipped} if skipped else {})}


def member_of(integration_id: str, user_id: str) -> dict | None:
    binding = people.binding_of_user(integration_id, user_id)
    return people.get_member(binding["member_id"]) if binding else None


def auto_link(integration_id: str, user: PlatformUser) -> dict | None:
    """Link a user who opened the web app: a member with the same name whose mobile resolves to them."""
    member = member_of(integration_id, user.user_id)
    if member:
        return member
    adapter = adapter_for(integrations.get(integration_id))
    for candidate in people.all_members():
        if candidate["name"] == user.name and candidate.get("mobile") and \
                adapter.user_by_mobile(candidate["mobile"]) == user.user_id:
            offboarding.bind(candidate, integration_id, user.user_id, user.name)
            return candidate
    return None


def link_by_mobile(integration_id: str, user: PlatformUser, mobile: str) -> dict:
    """Link by a mobile the user typed, proven by the platform resolving it to this very user."""
    found = people.members_with("mobile", mobile.strip())
    if not found:
        raise NotFound("没有登记这个手机号的成员 (no member has this mobile)")
    adapter = adapter_for(integrations.get(integration_id))
    if adapter.user_by_mobile(mobile.strip()) != user.user_id:
        raise InvalidInput("手机号与当前账号不符 (this mobile belongs to another account)")
    offboarding.bind(found[0], integration_id, user.user_id, user.name)
    return found[0]
