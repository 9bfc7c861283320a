"""Grafana unified alerting: its webhook contact point (payload version "1") and its silences.

The body is Alertmanager's plus per-alert ``values``, ``imageURL``, ``dashboardURL``, ``panelURL`` and
``silenceURL`` (tests/fixtures/sources/README.md, from grafana/alerting's source). Silences go through
Grafana's Alertmanager-compatible API with a service-account token.
"""
from __future__ import annotations

from typing import ClassVar, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, HttpUrl

from chalicelib.core.alerts import AlertGroup
from chalicelib.sources.alertmanager import WebhookAlert, WebhookBody
from chalicelib.sources.base import SourceKind, SourceSettings, validated
from chalicelib.sources.silences import SilenceApi

SILENCE_PREFIX = "/api/alertmanager/grafana"


class GrafanaAlert(WebhookAlert):
    values: dict[str, float | None] | None = Field(default=None, max_length=100)
    image_url: str = Field(default="", alias="imageURL", max_length=4096)
    dashboard_url: str = Field(default="", alias="dashboardURL", max_length=4096)
    panel_url: str = Field(default="", alias="panelURL", max_length=4096)
    silence_url: str = Field(default="", alias="silenceURL", max_length=8192)


class GrafanaBody(WebhookBody):
    alerts: list[GrafanaAlert] = Field(min_length=1, max_length=5000)
    state: Literal["alerting", "ok"] | None = None
    title: str = Field(default="", max_length=4096)
    expected_version: ClassVar[str] = "1"
    producer: ClassVar[str] = "Grafana"


def _steady(url: str, firing: bool) -> str:
    """A firing alert's dashboard link without its ``to`` (Grafana sets it to the time of each push, so a
    repeat would otherwise look like a change); the dashboard then ends at now by itself."""
    if not url or not firing:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "to"]
    return urlunsplit(parts._replace(query=urlencode(query)))


class Settings(SourceSettings):
    grafana_url: HttpUrl | None = None
    grafana_token: str | None = Field(default=None, min_length=1, max_length=4096)


class Grafana(SourceKind):
    name = "grafana"
    Settings = Settings
    silence_url_setting = "grafana_url"
    silence_secret_setting = "grafana_token"

    def parse(self, body: bytes) -> AlertGroup:
        payload = validated(GrafanaBody, body)
        alerts = [alert.neutral(values=alert.values or {}, image_url=alert.image_url,
                                dashboard_url=_steady(alert.dashboard_url, alert.status == "firing"),
                                panel_url=_steady(alert.panel_url, alert.status == "firing"),
                                silence_url=alert.silence_url)
                  for alert in payload.alerts]
        return payload.neutral(alerts)

    def silences(self, settings: dict, secrets: dict) -> SilenceApi | None:
        url, token = settings.get("grafana_url"), secrets.get("grafana_token")
        if not url or not token:
            return None
        return SilenceApi("Grafana", str(url).rstrip("/") + SILENCE_PREFIX, {"Authorization": f"Bearer {token}"})
