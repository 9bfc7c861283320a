"""Apply a person's action (from a card click or the admin API) and spread the new state.

After the incident changes: the change goes to the incident-events queue, the clicked card is
answered in the click reply (where the platform's reply can carry it; inbound_flow settles it), and
every other delivered card is queued for an update. The 作战室 routes open (or find) the incident's
war room and queue the room's cards; the 作战室 button queues the opening itself, since the click's
answer cannot wait for it.
"""
from __future__ import annotations

from chalicelib.common import queues
from chalicelib.common.config import settings
from chalicelib.common.errors import AppError, Conflict, NotFound, Retryable
from chalicelib.common.ids import is_id
from chalicelib.core import cards, incidents
from chalicelib.core.callback import Click, ClickOutcome, Intent
from chalicelib.core.models import SILENCE_RANGE, Action, RoomJob, silence_minutes_ok
from chalicelib.delivery import notices, pipeline
from chalicelib.flows import fanout, pending, silences, warroom
from chalicelib.sources.silences import SilenceFailed
from chalicelib.store import deliveries, involvements, people

DONE = {"ack": "已认领 Acknowledged", "resolve": "已关闭 Closed", "silence": "已屏蔽 Silenced",
        "unsilence": "已取消屏蔽 Unsilenced"}
OPENING = "作战室准备中，稍后出现在你的群聊列表 (opening the war room: it appears in your chats shortly)"
UNLINKED = "未关联应用：请在工作台打开应用完成一次登录关联 (open the app once to link your account)"
UNLINKED_CLICK = ("未关联应用：请打开链接登录关联，关联后自动执行本次操作 "
                  "(open the link to link your account; this click is applied once you are linked)")
NOT_FOUND = "故障不存在 (incident not found)"
UNKNOWN_USER = "无法识别点击者 (the platform did not say who clicked)"
ALREADY = "已处理 (already handled)"
MAX_USER_ID_BYTES = 256  # platform user ids are at most 64 characters; they become DynamoDB keys


def apply(incident_id: str, action: Action, member: dict, source: str, minutes: int | None = None,
          integration_id: str | None = None) -> dict:
    """Change the incident and publish the change; raises Conflict/NotFound, and SilenceFailed when the
    incident's Alertmanager or Grafana would not make (or expire) its silence."""
    silence = silences.in_source(incident_id, action, member, minutes, integration_id) \
        if action in (Action.silence, Action.unsilence) else None
    incident = incidents.act(incident_id, action, member, source, minutes, silence)
    involvements.note(member["id"], incident_id, "acted")
    queues.publish(incident, incident["timeline"][-1])
    if action in (Action.silence, Action.unsilence):
        followed = silences.after(incident, action)
        if followed is not incident:  # its alerts had resolved while silenced
            queues.publish(followed, followed["timeline"][-1])
        incident = followed
    return incident


def take(incident_id: str, action: Action, member: dict, source: str, minutes: int | None = None,
         integration_id: str | None = None) -> dict:
    """A person's action from the admin API or the web app: apply it and bring every card up to date."""
    incident = apply(incident_id, action, member, source, minutes, integration_id)
    spread(incident)
    return incident


def take_as(incident_id: str, action: Action, member_id: str, source: str, minutes: int | None = None) -> dict:
    """``take`` for a member named by id (the admin API's ``by``)."""
    return take(incident_id, action, _member(member_id), source, minutes)


def _member(member_id: str) -> dict:
    member = people.get_member(member_id)
    if member is None:
        raise NotFound(f"member {member_id} does not exist")
    return member


def open_war_room(incident_id: str, integration_id: str, member_id: str | None) -> tuple[dict, bool]:
    """The admin API's 作战室: (the room, whether this request created it)."""
    opened = _open_room(incident_id, integration_id, _member(member_id) if member_id else None, "api")
    return opened.view(), opened.created


def open_war_room_as(incident_id: str, integration_id: str, member: dict, source: str) -> dict:
    """The web app's 作战室 button, pressed by a linked member: the room, opened or found."""
    return _open_room(incident_id, integration_id, member, source).view()


def _open_room(incident_id: str, integration_id: str, member: dict | None, source: str) -> warroom.Opened:
    opened = warroom.find_or_open(incident_id, integration_id, member, source)
    queues.deliver(fanout.room_jobs(opened))
    return opened


def spread(incident: dict, integration_id: str | None = None, click: Click | None = None) -> None:
    """Queue updates for every delivered card, after keeping what the click brought for its own card.
    A clicked card whose reply carries the new state is left to that reply and its settle job."""
    records, skip = deliveries.of(incident["id"]), None  # read once: the clicked card is one of them
    if integration_id and click:
        clicked = pipeline.note_click(records, click.card, click.ref_update)
        skip = clicked if click.reply_updates_card else None
    queues.deliver(fanout.refresh_jobs(records, skip_target_key=skip))


def _malformed(click: Click) -> str | None:
    """Why a verified click cannot be applied as it is (its ids become storage keys), or None."""
    if not is_id(click.incident_id):
        return NOT_FOUND
    if not click.user_id or len(click.user_id.encode("utf-8")) > MAX_USER_ID_BYTES:
        return UNKNOWN_USER
    if not silence_minutes_ok(click.minutes):
        return SILENCE_RANGE
    return None


def from_click(integration_id: str, platform: str, click: Click) -> ClickOutcome:
    """Map the clicking user to their member, apply the action, say what happened."""
    if problem := _malformed(click):
        return ClickOutcome(ok=False, message=problem)
    if click.intent is Intent.refresh:
        return _refresh(integration_id, click)
    member = people.member_of_user(integration_id, click.user_id)
    if member is None:
        _keep(click)
        if click.intent is Intent.war_room:  # nothing to replay: linking once is enough to open the room next time
            return ClickOutcome(ok=False, message=UNLINKED, link=f"{settings().public_base_url}/app/{integration_id}")
        return ClickOutcome(ok=False, message=UNLINKED_CLICK, link=pending.keep(integration_id, click))
    if click.intent is Intent.war_room:
        return _war_room_click(integration_id, platform, click, member)
    try:
        incident = apply(click.incident_id, Action(click.intent.value), member, platform, click.minutes,
                         integration_id)
    except NotFound:
        return ClickOutcome(ok=False, message=NOT_FOUND)
    except (Conflict, SilenceFailed) as exc:
        _keep(click)
        current = incidents.get(click.incident_id)
        return ClickOutcome(ok=False, message=exc.message, card=cards.build(current, integration_id))
    spread(incident, integration_id, click)
    return ClickOutcome(ok=True, message=DONE[click.intent.value], card=cards.build(incident, integration_id))


def _war_room_click(integration_id: str, platform: str, click: Click, member: dict) -> ClickOutcome:
    """作战室 on a card: creating a group (and inviting people) can outlast the click's reply deadline, so
    the click is answered at once and the room is opened from the war-rooms queue. The card itself does
    not change, but what the click brought (e.g. WeCom's fresh update code) is kept for its next update."""
    _keep(click)
    try:
        room = warroom.settled(click.incident_id, integration_id, member["id"])
    except AppError as exc:
        return ClickOutcome(ok=False, message=exc.message)
    if room:
        return ClickOutcome(ok=True, message=f"作战室已存在：{room['title']} (war room already open)")
    queues.open_room(RoomJob(incident_id=click.incident_id, integration_id=integration_id,
                             member_id=member["id"], source=platform))
    return ClickOutcome(ok=True, message=OPENING)


def _keep(click: Click) -> None:
    """A click that leaves the card as it is still brought something for its next update (WeCom's fresh
    update code, Feishu's update token, whom DingTalk's private notice went to)."""
    if click.ref_update:
        pipeline.note_click(deliveries.of(click.incident_id), click.card, click.ref_update)


def open_requested_room(job: RoomJob) -> None:
    """The queued half of a 作战室 click, or a critical incident's own room; raises Retryable, any other
    refusal goes to ``room_failed``."""
    try:
        _open_room(job.incident_id, job.integration_id, _member(job.member_id) if job.member_id else None,
                   job.source)
    except Retryable:
        raise
    except AppError as exc:
        room_failed(job, exc)


def room_failed(job: RoomJob, exc: AppError) -> None:
    """A queued room that cannot be opened: said on the timeline, and to the person who pressed 作战室
    (an automatic room has nobody waiting for it)."""
    warroom.note_failure(job.incident_id, job.integration_id, exc)
    if job.member_id:
        notices.tell_room_failure(job, exc.message)


def _refresh(integration_id: str, click: Click) -> ClickOutcome:
    """状态刷新: no state change, the card is brought up to date with what the click allows."""
    try:
        incident = incidents.get(click.incident_id)
    except NotFound:
        return ClickOutcome(ok=False, message=NOT_FOUND)
    spread(incident, integration_id, click)
    return ClickOutcome(ok=True, message="已刷新 (refreshed)", card=cards.build(incident, integration_id))


def already_handled(integration_id: str, click: Click) -> ClickOutcome:
    """The answer to a redelivered click: the current card where the reply can carry it, nothing applied
    again."""
    if not click.reply_updates_card:
        return ClickOutcome(ok=True, message=ALREADY)
    try:
        card = cards.build(incidents.get(click.incident_id), integration_id)
    except NotFound:
        card = None
    return ClickOutcome(ok=True, message=ALREADY, card=card)


def redeliver(incident_id: str) -> list[dict]:
    """``POST /incidents/{id}/redeliver``: the incident's failed and parked deliveries, and cards whose last
    update failed, queued again (e.g. once a platform setting is fixed); returns which."""
    incidents.get(incident_id)  # NotFound: 404
    jobs = pipeline.retried(deliveries.of(incident_id), ("failed", "parked"))
    queues.deliver(jobs)
    return [{"integration_id": job.integration_id, "kind": job.kind, "target": job.target} for job in jobs]
