"""Apply a person's action (from a card click or the admin API) and spread the new state.

After the incident changes: the change goes to the incident-events queue, the clicked card is
answered in the click reply, and every other delivered card is queued for an update.
"""
from __future__ import annotations

from chalicelib import cards, delivery, dispatch, events, incidents, pending
from chalicelib.errors import Conflict, NotFound
from chalicelib.models import Action
from chalicelib.platforms.base import Click, ClickOutcome
from chalicelib.store import involvements, people

DONE = {"ack": "已认领 Acknowledged", "resolve": "已关闭 Closed", "silence": "已屏蔽 Silenced"}
UNLINKED = "未关联应用：请在工作台打开应用完成一次登录关联 (open the app once to link your account)"
UNLINKED_CLICK = ("未关联应用：请打开链接登录关联，关联后自动执行本次操作 "
                  "(open the link to link your account; this click is applied once you are linked)")


def apply(incident_id: str, action: Action, member: dict, source: str, minutes: int | None = None) -> dict:
    """Change the incident and publish the change; raises Conflict/NotFound."""
    incident = incidents.act(incident_id, action, member, source, minutes)
    involvements.note(member["id"], incident_id, "acted")
    events.publish(incident, incident["timeline"][-1])
    return incident


def take(incident_id: str, action: Action, member: dict, source: str, minutes: int | None = None) -> dict:
    """A person's action from the admin API or the web app: apply it and bring every card up to date."""
    incident = apply(incident_id, action, member, source, minutes)
    spread(incident)
    return incident


def take_as(incident_id: str, action: Action, member_id: str, source: str, minutes: int | None = None) -> dict:
    """``take`` for a member named by id (the admin API's ``by``)."""
    member = people.get_member(member_id)
    if member is None:
        raise NotFound(f"member {member_id} does not exist")
    return take(incident_id, action, member, source, minutes)


def spread(incident: dict, integration_id: str | None = None, click: Click | None = None) -> None:
    """Queue updates for every delivered card, after recording what the click did to its own card."""
    if integration_id and click:
        shown = cards.build(incident, integration_id) if click.reply_updates_card else None
        delivery.note_click(incident["id"], click.context, shown, click.ref_update)
    dispatch.enqueue(dispatch.refresh_jobs(incident["id"]))


def from_click(integration_id: str, platform: str, click: Click) -> ClickOutcome:
    """Map the clicking user to their member, apply the action, say what happened."""
    if click.action is None:
        return _refresh(integration_id, click)
    binding = people.binding_of_user(integration_id, click.user_id)
    member = people.get_member(binding["member_id"]) if binding else None
    if member is None:
        return ClickOutcome(ok=False, message=UNLINKED_CLICK, link=pending.keep(integration_id, click))
    try:
        incident = apply(click.incident_id, click.action, member, platform, click.minutes)
    except NotFound:
        return ClickOutcome(ok=False, message="故障不存在 (incident not found)")
    except Conflict as exc:
        current = incidents.get(click.incident_id)
        return ClickOutcome(ok=False, message=exc.message, card=cards.build(current, integration_id))
    spread(incident, integration_id, click)
    return ClickOutcome(ok=True, message=DONE[click.action.value], card=cards.build(incident, integration_id))


def _refresh(integration_id: str, click: Click) -> ClickOutcome:
    """状态刷新: no state change, the card is brought up to date with what the click allows."""
    try:
        incident = incidents.get(click.incident_id)
    except NotFound:
        return ClickOutcome(ok=False, message="故障不存在 (incident not found)")
    spread(incident, integration_id, click)
    return ClickOutcome(ok=True, message="已刷新 (refreshed)", card=cards.build(incident, integration_id))


def already_handled(integration_id: str, click: Click) -> ClickOutcome:
    """The answer to a redelivered click: the current card, nothing applied again."""
    try:
        card = cards.build(incidents.get(click.incident_id), integration_id)
    except NotFound:
        card = None
    return ClickOutcome(ok=True, message="已处理 (already handled)", card=card)
