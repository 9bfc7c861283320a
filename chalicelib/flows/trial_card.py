"""``POST /integrations/{id}/test``: send one test card (测试卡片) to a member or a chat and answer with the
platform's verdict, so a wrong CorpId, AgentId, card template, visible range or IP allow-list shows at setup
instead of at the first real alert.

The card comes from the same card builder as a real alert's, built from a sample incident that is never stored,
and is then made a notice: no buttons, no silence menu, no war room. A click on it has nothing to act on, and the
incident id it carries (``test-…``, fresh each time) names no stored incident, so no real incident can be touched.
It goes out through the adapter's own ``send_card`` (the path real cards take) once the integration's monthly
budget and the platform's pacing windows admit it (delivery.admission), and counts against the budget like any
card. Pacing never makes the caller wait long: a card that would have to wait answers "try again in N s" and
hands its reserved slot back.
"""
from __future__ import annotations

import secrets

from pydantic import Field, model_validator

from chalicelib.common.config import settings
from chalicelib.common.errors import Conflict, NotFound, Paced, PlatformError, Unprocessable
from chalicelib.common.ids import ID_PATTERN
from chalicelib.core import cards, incidents
from chalicelib.core.models import DeliveryJob, IncidentFields, Strict
from chalicelib.delivery import admission, pacing
from chalicelib.flows import integrations
from chalicelib.platforms import adapter_for
from chalicelib.platforms.base import Adapter
from chalicelib.store import people

TITLE = "测试卡片 Test card"
DESCRIPTION = ("这是一张测试卡片，用于确认集成配置正确；它不对应任何故障，无需处理。"
               "(A test card proving the integration's setup; no incident behind it, nothing to do.)")
# What to do about dutybridge's own refusals (the platforms' codes carry their table's hint).
OWN_HINTS = {"paced": "平台限流窗口已满，请在 retry_after 秒后重试 (a published platform limit is full: try again "
                      "after retry_after seconds)",
             "ledger": "本月调用预算已用完：在平台升级版本或调高 settings.monthly_calls (the monthly call budget is "
                       "spent: upgrade the edition or raise settings.monthly_calls)"}


class TrialRequest(Strict):
    """The body of POST /integrations/{id}/test: exactly one of a member (bound on this integration) or a chat."""

    member: str | None = Field(default=None, pattern=ID_PATTERN)
    chat_id: str | None = Field(default=None, min_length=1, max_length=256)

    @model_validator(mode="after")
    def _one_target(self) -> TrialRequest:
        if (self.member is None) == (self.chat_id is None):
            raise ValueError("give exactly one of member (a member id) or chat_id")
        return self


def send(integration_id: str, request: TrialRequest) -> dict:
    """Send the test card; the answer says whether the platform took it, else its code, message and what to fix."""
    item = integrations.get(integration_id)
    adapter = adapter_for(item)
    kind, target = _target(item, adapter, request)
    job = DeliveryJob(incident_id=f"test-{secrets.token_hex(6)}", integration_id=integration_id, kind=kind,
                      target=target)
    verdict = {"platform": item["platform"], "to": {"kind": kind, "target": target}}
    try:
        admission.budget(job, adapter)
        _pace(job, adapter)
        adapter.send_card(kind, target, _card(job, item), job.card_key)
    except PlatformError as exc:
        return {**verdict, "ok": False, "code": exc.platform_code, "message": exc.platform_message,
                "hint": exc.hint or OWN_HINTS.get(exc.platform_code, ""),
                **({"retry_after": round(exc.retry_after, 1)} if exc.retry_after else {})}
    return {**verdict, "ok": True, "code": None, "message": "平台已接收测试卡片 (the platform accepted the test card)",
            "hint": ""}


def _target(item: dict, adapter: Adapter, request: TrialRequest) -> tuple[str, str]:
    """(kind, platform target): the chat as given, or the member's user id on this integration."""
    if request.chat_id is not None:
        return "chat", request.chat_id
    member_id = str(request.member)
    if people.get_member(member_id) is None:
        raise NotFound(f"member {member_id} does not exist")
    if not adapter.reaches_people:
        raise Unprocessable(f"{item['id']} is a group robot: it posts into its one group only; give chat_id")
    binding = people.binding(member_id, item["id"])
    if binding is None:
        raise Conflict(f"member {member_id} is not bound on integration {item['id']}: link them first "
                       f"(POST /integrations/{item['id']}/link-members)")
    return "user", str(binding["user_id"])


def _pace(job: DeliveryJob, adapter: Adapter) -> None:
    """The platform's windows, as a non-critical card (the critical reserve stays for incidents); a slot booked
    for later is handed back, since this caller answers now instead of waiting for it."""
    try:
        admission.pace(job, adapter, None, critical=False)
    except Paced as exc:
        if exc.slot_at is not None:
            pacing.release(adapter.windows("send", job.kind, job.target), exc.slot_at)
        raise


def _card(job: DeliveryJob, item: dict) -> cards.Card:
    """A sample incident's card (the integration's template and label order apply), made an actionless notice."""
    sample = incidents.unsaved(IncidentFields(id=job.incident_id, title=TITLE, severity="info",
                                              description=DESCRIPTION, labels={"integration": item["name"]}))
    card = cards.build(sample, job.integration_id, item.get("settings", {}))
    title = card.title if card.title.startswith(TITLE) else f"{TITLE} · {card.title}"
    return card.model_copy(update={
        "title": title, "status": "notice", "status_zh": "测试", "status_en": "Test", "buttons": [],
        "silence_menu": [], "war_room": False, "notice": True,
        "url": f"{settings().public_base_url}/app/{job.integration_id}"})
