"""Render the neutral card into the variables of the template in docs/dingtalk/card-template.json.

DingTalk requires every cardParamMap value to be a string of at most 1 KB (keys ≤ 100 bytes).
The template shows ``description`` and ``labels`` in Markdown components: what producers wrote goes
there escaped (CommonMark backslash escapes), so a ``[link](https://…)``, ``<font>``, image, heading or
@mention in an alert shows as the text it is and never as a link or markup of the card.
"""
from __future__ import annotations

import re

from chalicelib.core.cards import Card
from chalicelib.core.fitting import fit

MAX_VALUE_BYTES = 1024
MAX_LINE_CHARS = 100  # of one alert's text or one label's value on the card; the page shows it whole
CUT = "…"
# Characters that open Markdown (and the HTML tags DingTalk's Markdown takes) anywhere in a line.
INLINE_SYNTAX = re.compile(r"([\\`*_\[\]()<>!#~|&@$])")
# Line starts that make a list item or a setext heading: "- ", "+ ", "= ", "1. ", "1) ".
LINE_SYNTAX = re.compile(r"^([ \t]*)([-+=]|\d+[.)])", re.MULTILINE)


def clip(text: str, limit: int = MAX_VALUE_BYTES) -> str:
    """Cut ``text`` to ``limit`` UTF-8 bytes on a character boundary, marking the cut."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - len(CUT.encode())].decode("utf-8", errors="ignore") + CUT


def literal(text: str) -> str:
    """``text`` escaped so that DingTalk's Markdown shows it exactly as written."""
    escaped = INLINE_SYNTAX.sub(r"\\\1", text)
    return LINE_SYNTAX.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], escaped)


def clip_markdown(markdown: str) -> str:
    """``clip`` for escaped Markdown: a cut never leaves a lone backslash that would escape the mark."""
    cut = clip(markdown)
    if cut == markdown:
        return cut
    kept = cut[: -len(CUT)]
    if (len(kept) - len(kept.rstrip("\\"))) % 2:
        kept = kept[:-1]
    return kept + CUT


def facts_markdown(card: Card) -> str:
    return "\n".join(f"- **{literal(key)}**: {literal(_short(value))}" if key else f"- {literal(_short(value))}"
                     for key, value in card.facts)


def alerts_markdown(card: Card) -> str:
    """The count and the alert lines, then the "+N more" link to the page for whatever the card left out."""
    lines = [f"**{literal(card.alert_count)}**"] if card.alert_count else []
    lines += [f"- {literal(f'{a.status_zh} {a.status_en} · {a.at} · ' + _short(a.text))}" for a in card.alerts]
    return "\n".join(lines + ([f"[{card.more}]({card.url})"] if card.more else []))


def fitted(card: Card) -> Card:
    """Whole lines only, each Markdown value within its 1 KB: a line is never cut, so no escape is split."""
    return fit(card, lambda shown: all(len(value.encode()) <= MAX_VALUE_BYTES
                                       for value in (facts_markdown(shown), alerts_markdown(shown))),
               lambda description: len(literal(description).encode()) <= MAX_VALUE_BYTES)


def _short(text: str) -> str:
    return text if len(text) <= MAX_LINE_CHARS else text[:MAX_LINE_CHARS - 1] + CUT


def _silenced(card: Card) -> str:
    if not card.silenced_until:
        return ""
    return f"屏蔽至 {card.silenced_until}" + (f" · ID {card.silence_id}" if card.silence_id else "")


def picture_param(card: Card) -> dict[str, str]:
    """``image``: the picture's mediaId from media/upload ("" hides the component). DingTalk's card image
    components take a mediaId as is (open-dingtalk's dingtalk-stream-sdk interactive_card samples:
    ``{"type": "image", "image": "@lADP…"}``)."""
    return {"image": card.image}


def card_params(card: Card) -> dict[str, str]:
    card = fitted(card)
    actions = {b.action.value for b in card.buttons}
    params = {
        "title": card.title, "severity": card.severity,
        "severity_text": f"{card.severity_zh} {card.severity_en}", "status": card.status,
        "status_text": f"{card.status_zh} {card.status_en}",
        "started_at": card.started_at, "acted_by": card.acted_by,
        "silenced_until": _silenced(card),
        "incident_url": card.url, "can_ack": str("ack" in actions).lower(),
        "can_resolve": str("resolve" in actions).lower(), "can_silence": str("silence" in actions).lower(),
        "can_unsilence": str("unsilence" in actions).lower(),
        "can_war_room": str(card.war_room).lower(), **picture_param(card),
    }
    markdown = {"description": literal(card.description), "labels": facts_markdown(card),
                "alerts": alerts_markdown(card)}
    return {**{key: clip(value) for key, value in params.items()},
            **{key: clip_markdown(value) for key, value in markdown.items()}}
