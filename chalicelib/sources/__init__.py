"""Source kinds: how each producer's push becomes incidents, and where its silences are made.

One line per kind; a kind's module is imported only when a push of that kind arrives.
"""
from __future__ import annotations

import importlib

from chalicelib.sources.base import SourceKind

REGISTRY = {
    "alertmanager": "chalicelib.sources.alertmanager:Alertmanager",
    "grafana": "chalicelib.sources.grafana:Grafana",
    "webhook": "chalicelib.sources.webhook:Webhook",
}


def names() -> list[str]:
    return list(REGISTRY)


def kind(name: str) -> SourceKind:
    module, _, cls = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)()
