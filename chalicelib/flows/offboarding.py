"""Offboarding: a person who left the organisation stops being reached as the member they were bound to.

The platform's departure event (DingTalk ``user_leave_org``, Feishu ``contact.user.deleted_v3``, WeCom
``change_contact`` / ``delete_user``) revokes that integration's binding and leaves a trace on the member
(``left``: which platform user, when, which event), so the member view says why the binding went and a
card for them is recorded unbound because they left, not because they never opened the app. Relinking
(the person is back and opens the app) binds again and clears the trace. A user bound to nobody is
accepted and ignored: the platform only expects its success answer.
"""
from __future__ import annotations

import logging

from chalicelib.common import clock
from chalicelib.common.errors import NotFound
from chalicelib.core.callback import Departure
from chalicelib.store import people

LEFT = "已离职: {member} left the organisation ({event} at {at}), the binding was revoked"
log = logging.getLogger("dutybridge.offboarding")


def depart(integration_id: str, departure: Departure) -> None:
    """Revoke the binding of the user who left, once the member keeps the trace (so a failure between the
    two writes leaves the binding, and the platform's redelivery finishes the job)."""
    binding = people.binding_of_user(integration_id, departure.user_id)
    if binding is None:
        log.info("%s: %s left the organisation, bound to no member", integration_id, departure.user_id)
        return
    member_id = binding["member_id"]
    member = people.get_member(member_id)
    if member is not None:
        trace = {"user_id": departure.user_id, "left_at": clock.iso(), "event": departure.event}
        try:
            people.change_member(member_id, {"left": {**(member.get("left") or {}), integration_id: trace}}, [])
        except NotFound:
            pass  # the member was deleted meanwhile: nothing to keep the trace on
    people.unbind(member_id, integration_id)


def bind(member: dict, integration_id: str, user_id: str, display_name: str) -> None:
    """Bind ``member`` to a platform user; a binding revoked by a departure is superseded, its trace goes."""
    people.bind(member["id"], integration_id, user_id, display_name, clock.iso())
    left = member.get("left") or {}
    if integration_id in left:
        rest = {key: value for key, value in left.items() if key != integration_id}
        people.change_member(member["id"], {"left": rest} if rest else {}, [] if rest else ["left"])


def left_reason(member: dict, integration_id: str) -> str | None:
    """Why ``member`` is not bound on the integration when a departure revoked it, else None."""
    trace = (member.get("left") or {}).get(integration_id)
    if not trace:
        return None
    return LEFT.format(member=member["id"], event=trace.get("event", ""), at=trace.get("left_at", ""))


def left_view(member: dict) -> list[dict]:
    """The member view's ``left`` entries: bindings that departures revoked."""
    return [{"integration_id": integration_id, **trace}
            for integration_id, trace in sorted((member.get("left") or {}).items())]
