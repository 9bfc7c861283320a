"""What every source kind provides: its settings, how to read a push, and its silences."""
from __future__ import annotations

import zoneinfo
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chalicelib.common.errors import InvalidInput, readable
from chalicelib.common.json_input import MAX_DEPTH, too_deep
from chalicelib.core.alerts import AlertGroup
from chalicelib.core.models import Notification

# The sealed settings: encrypted at rest, masked in every answer, sent only to the URL they came with.
SECRET_SETTINGS = ("alertmanager_auth", "grafana_token")


class SourceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    timezone: str = Field(default="Asia/Shanghai", max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("timezone must be an IANA time zone, e.g. Asia/Shanghai") from exc
        return value


class SourceKind:
    """A producer dutybridge receives from. ``parse`` reads one push: an alert group, or (webhook) a
    notification of dutybridge's own format."""

    name: ClassVar[str]
    Settings: ClassVar[type[SourceSettings]] = SourceSettings
    # The settings that name where silences are made, and the secret that goes with that URL.
    silence_url_setting: ClassVar[str | None] = None
    silence_secret_setting: ClassVar[str | None] = None

    def parse(self, body: bytes) -> AlertGroup | Notification:
        raise NotImplementedError

    def silences(self, settings: dict, secrets: dict):
        """The producer's silence API for a source with these settings (secrets unsealed), or None."""
        return None


def validated(model: type[BaseModel], body: bytes) -> BaseModel:
    """``body`` read as ``model``; a 400 that names the field (never the value) otherwise.

    pydantic's parser never recurses in Python and stops at its own depth limit, so the nesting bound
    (common/json_input) is measured only to say why a body was refused: on a 600 KB push it would cost
    more than the parse."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            problem = f"body nests deeper than {MAX_DEPTH} levels" if too_deep(body) else "body is not valid JSON"
            raise InvalidInput(problem) from exc
        raise InvalidInput(readable(exc)) from exc
