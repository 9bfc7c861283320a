"""Prometheus Alertmanager: its webhook (payload version 4) and its silences (API v2).

Facts from Alertmanager 0.25's own captures (tests/fixtures/sources/README.md): the whole group comes
in every push, firing alerts carry Go's zero time as ``endsAt``, times keep the offset they were posted
with, ``truncatedAlerts`` counts what ``max_alerts`` left out.
"""
from __future__ import annotations

import base64
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from chalicelib.core.alerts import Alert, AlertGroup, epoch
from chalicelib.sources.base import SourceKind, SourceSettings, validated
from chalicelib.sources.silences import SilenceApi

MAX_ALERTS = 5000
Labels = dict[str, str]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)  # producers add fields over versions


class WebhookAlert(_Lenient):
    status: Literal["firing", "resolved"]
    labels: Labels = Field(max_length=200)
    annotations: Labels = Field(default_factory=dict, max_length=200)
    starts_at: str = Field(alias="startsAt", max_length=64)
    ends_at: str = Field(default="", alias="endsAt", max_length=64)
    generator_url: str = Field(default="", alias="generatorURL", max_length=4096)
    fingerprint: str = Field(min_length=1, max_length=128)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _time(cls, value: str) -> str:
        if value:
            epoch(value)  # ValueError names the field
        return value

    def neutral(self, **extra: object) -> Alert:
        return Alert(fingerprint=self.fingerprint, status=self.status, labels=self.labels,
                     annotations=self.annotations, starts_at=epoch(self.starts_at) or 0.0,
                     ends_at=epoch(self.ends_at) if self.ends_at else None, generator_url=self.generator_url,
                     **extra)


class WebhookBody(_Lenient):
    version: str
    group_key: str = Field(alias="groupKey", min_length=1, max_length=4096)
    status: Literal["firing", "resolved"]
    receiver: str = Field(default="", max_length=1024)
    alerts: list[WebhookAlert] = Field(min_length=1, max_length=MAX_ALERTS)
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels", max_length=200)
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels", max_length=200)
    common_annotations: Labels = Field(default_factory=dict, alias="commonAnnotations", max_length=200)
    external_url: str = Field(default="", alias="externalURL", max_length=4096)
    truncated: int = Field(default=0, alias="truncatedAlerts", ge=0, le=10_000_000)

    # The payload version this producer writes, and the producer as the refusal names it.
    expected_version: ClassVar[str] = "4"
    producer: ClassVar[str] = "Alertmanager"

    @model_validator(mode="after")
    def _producers_version(self) -> "WebhookBody":
        if self.version != self.expected_version:
            raise ValueError(f"version must be \"{self.expected_version}\" ({self.producer}'s webhook payload), "
                             f"not {self.version[:8]!r}")
        return self

    def neutral(self, alerts: list[Alert]) -> AlertGroup:
        return AlertGroup(key=self.group_key, status=self.status, alerts=alerts, group_labels=self.group_labels,
                          common_labels=self.common_labels, common_annotations=self.common_annotations,
                          external_url=self.external_url, truncated=self.truncated)


class Auth(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bearer: str | None = Field(default=None, min_length=1, max_length=4096)
    basic: tuple[str, str] | None = None

    @model_validator(mode="after")
    def _one(self) -> "Auth":
        if (self.bearer is None) == (self.basic is None):
            raise ValueError("give exactly one of bearer or basic")
        return self


class Settings(SourceSettings):
    alertmanager_url: HttpUrl | None = None
    alertmanager_auth: Auth | None = None


class Alertmanager(SourceKind):
    name = "alertmanager"
    Settings = Settings
    silence_url_setting = "alertmanager_url"
    silence_secret_setting = "alertmanager_auth"

    def parse(self, body: bytes) -> AlertGroup:
        payload = validated(WebhookBody, body)
        return payload.neutral([alert.neutral() for alert in payload.alerts])

    def silences(self, settings: dict, secrets: dict) -> SilenceApi | None:
        url = settings.get("alertmanager_url")
        if not url:
            return None
        auth = secrets.get("alertmanager_auth") or {}
        headers = {}
        if auth.get("bearer"):
            headers["Authorization"] = f"Bearer {auth['bearer']}"
        elif auth.get("basic"):
            user, password = auth["basic"]
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return SilenceApi("Alertmanager", url, headers)

