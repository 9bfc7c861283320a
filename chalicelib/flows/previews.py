"""``POST /integrations/{id}/preview``: the exact payload an integration's platform would receive for an
incident's card, its size against the platform's limit, and what the card left out to fit; nothing is sent.
The incident is given in full (a producer's notification) or named (one already stored, e.g. a large
Alertmanager group)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from chalicelib.common.ids import ID_PATTERN
from chalicelib.core import cards, incidents, reports
from chalicelib.core.models import IncidentFields, Report, Strict
from chalicelib.flows import integrations
from chalicelib.platforms import adapter_for


class PreviewRequest(Strict):
    incident: IncidentFields | None = None
    report: Report | None = None  # a notification's report (README, "Reports")
    incident_id: str | None = Field(default=None, pattern=ID_PATTERN)
    to: Literal["user", "chat"] = "user"  # a person's card or a group's (a robot only posts into its group)

    @model_validator(mode="after")
    def _one_incident(self) -> PreviewRequest:
        if [self.incident, self.report, self.incident_id].count(None) != 2:
            raise ValueError("give one of incident or report (a notification's) or incident_id (a stored one)")
        return self

    def record(self) -> dict:
        """The incident or report to show, as it is (or would be) stored."""
        if self.incident_id:
            return incidents.get(self.incident_id)
        return reports.unsaved(self.report) if self.report else incidents.unsaved(self.incident)


def preview(integration_id: str, request: PreviewRequest) -> dict:
    item = integrations.get(integration_id)
    adapter = adapter_for(item)
    kind = request.to if adapter.reaches_people else "chat"
    card = cards.build(request.record(), integration_id, item.get("settings", {}))
    return {"platform": item["platform"], "to": kind, **adapter.preview(kind, card).view()}
