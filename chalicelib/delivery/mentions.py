"""Whom a group message @s: the members its incident targeted, with what each platform can ring them by."""
from __future__ import annotations

import re

from chalicelib.core.cards import Mention
from chalicelib.store import integrations as integration_store
from chalicelib.store import people

MAX_MENTIONS = 30  # DingTalk takes at most 30 @s in one message; nobody reads more


def of(member_ids: list[str]) -> list[Mention]:
    """The members behind ``member_ids`` (those that still exist), each with their mobile and their user id
    on every platform where they are linked."""
    platforms = {i["id"]: i["platform"] for i in integration_store.all()}
    found = []
    for member_id in member_ids[:MAX_MENTIONS]:
        member = people.get_member(member_id)
        if member is None:
            continue
        bindings = [b for b in people.bindings_of(member_id) if b["integration_id"] in platforms]
        found.append(Mention(name=member["name"], mobile=mobile(member.get("mobile") or ""),
                             user_ids={platforms[b["integration_id"]]: b["user_id"] for b in bindings},
                             bound={b["integration_id"]: b["user_id"] for b in bindings}))
    return found


def mobile(number: str) -> str:
    """A mobile as the platforms' @ lists take it: digits only, a mainland number without its +86."""
    digits = re.sub(r"\D", "", number)
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits
