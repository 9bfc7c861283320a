"""A card click made before the clicker was linked, kept so the linking page can apply it after.

The click is stored in the ephemeral table under a random one-time id that only travels in the
link the click's answer carries. Only the platform user who clicked may apply it, once, and
only while it is fresh: an old click applied hours later would surprise everyone.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from chalicelib.common.config import settings
from chalicelib.core.callback import Click
from chalicelib.core.models import Action
from chalicelib.store import ephemeral

KEEP_SECONDS = 30 * 60
ID_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"


@dataclass(frozen=True)
class PendingClick:
    pending_id: str
    user_id: str
    incident_id: str
    action: Action
    minutes: int | None


def keep(integration_id: str, click: Click) -> str:
    """Store ``click``; returns the linking page's address that applies it once the user is linked."""
    pending_id = secrets.token_urlsafe(16)
    ephemeral.put(_key(pending_id), KEEP_SECONDS, integration_id=integration_id, user_id=click.user_id,
                  incident_id=click.incident_id, action=click.intent.value, minutes=click.minutes)
    return f"{settings().public_base_url}/app/{integration_id}?pending={pending_id}"


def find(integration_id: str, pending_id: str) -> PendingClick | None:
    """The live click kept under ``pending_id`` for this integration, without using it up."""
    item = ephemeral.get(_key(pending_id)) if re.match(ID_PATTERN, pending_id) else None
    if item is None or item["integration_id"] != integration_id:
        return None
    return PendingClick(pending_id=pending_id, user_id=item["user_id"], incident_id=item["incident_id"],
                        action=Action(item["action"]), minutes=item.get("minutes"))


def use(click: PendingClick) -> bool:
    """Take the click out of the store; False when someone (a second tab) took it first."""
    return ephemeral.take(_key(click.pending_id)) is not None


def _key(pending_id: str) -> str:
    return f"pending#{pending_id}"
