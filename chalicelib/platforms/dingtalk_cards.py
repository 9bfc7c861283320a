"""Render the neutral card into the variables of the template in docs/dingtalk/card-template.json.

DingTalk requires every cardParamMap value to be a string of at most 1 KB (keys ≤ 100 bytes).
"""
from __future__ import annotations

from chalicelib.cards import Card

MAX_VALUE_BYTES = 1024


def clip(text: str, limit: int = MAX_VALUE_BYTES) -> str:
    """Cut ``text`` to ``limit`` UTF-8 bytes on a character boundary, marking the cut."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", errors="ignore") + "…"


def card_params(card: Card) -> dict[str, str]:
    actions = {b.action.value for b in card.buttons}
    labels = "\n".join(f"- **{k}**: {v}" for k, v in card.labels)
    params = {
        "title": card.title, "severity": card.severity,
        "severity_text": f"{card.severity_zh} {card.severity_en}", "status": card.status,
        "status_text": f"{card.status_zh} {card.status_en}", "description": card.description,
        "labels": labels, "started_at": card.started_at, "acted_by": card.acted_by,
        "silenced_until": f"屏蔽至 {card.silenced_until}" if card.silenced_until else "",
        "incident_url": card.url, "can_ack": str("ack" in actions).lower(),
        "can_resolve": str("resolve" in actions).lower(), "can_silence": str("silence" in actions).lower(),
        "can_war_room": str(card.war_room).lower(),
    }
    return {key: clip(value) for key, value in params.items()}
