"""Render the neutral card as a Feishu interactive card (JSON 1.0), in Chinese and English.

Sent as a shared card (``config.update_multi``) so one PATCH updates it for everyone; buttons carry
the action vocabulary in their ``value``, the longer silences sit in an overflow menu.

Text that is not ours (the producer's title, description and labels, a member's name) never reaches
Feishu's markdown as markup: it goes into ``plain_text``, or into ``lark_md`` with every character that
could open markup (emphasis, a link, a tag such as ``<at id=all>`` or ``<font>``, an emoji code) written
as an HTML entity, which Feishu's card markdown shows as the character itself.
"""
from __future__ import annotations

import functools
import json
import re

from chalicelib.core.cards import WAR_ROOM, WAR_ROOM_TEXT, Card
from chalicelib.core.fitting import fit

TEMPLATE = {"critical": "red", "warning": "orange", "info": "blue"}
OPEN_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
MAX_TEXT = 2000
# Send-message doc: a card message's request body is at most 30 KB. The card travels as a JSON string inside
# that body (quotes and backslashes escaped once more); BODY_ROOM is the rest of the body (receive_id, uuid).
MAX_BODY_BYTES = 30 * 1024
BODY_ROOM = 512
MAX_LINE_CHARS = 200  # of one alert's text or one label's value on the card; the incident page shows it whole
MARKUP = {ord(c): f"&#{ord(c)};" for c in "&<>*_~`[]()#:!\\|$+-"}
LINE_BREAKS = {ord("\n"): " ", ord("\r"): " "}


@functools.lru_cache(maxsize=4096)  # fitting a card tries its lines several times; translate is slow on them
def literal(text: str) -> str:
    """``text`` for a ``lark_md`` element, to be shown as it is, on one line."""
    return text.translate(LINE_BREAKS).translate(MARKUP)


def at_tags(card: Card) -> str:
    """The card's @s as lark_md ``<at id=open_id></at>`` tags; an id that is not an open_id's shape is left out."""
    ids = [m.user_ids.get("feishu", "") for m in card.mentions]
    return " ".join(f"<at id={i}></at>" for i in ids if OPEN_ID.fullmatch(i))


def _plain(text: str) -> dict:
    return {"tag": "div", "text": {"tag": "plain_text", "content": text[:MAX_TEXT]}}


def _field(label: str, value: str) -> dict:
    return {"is_short": True, "text": {"tag": "lark_md", "content": f"**{label}**\n{value}"}}


def _facts_text(card: Card) -> str:
    return "\n".join(f"**{literal(key)}**: {literal(_short(value))}" if key else literal(_short(value))
                     for key, value in card.facts)


def _alerts_text(card: Card, zh: bool) -> str:
    lines = [literal(f"{a.status_zh if zh else a.status_en} · {a.at} · " + _short(a.text)) for a in card.alerts]
    return "\n".join([f"**{literal(card.alert_count)}**", *lines])


def _markdown(content: str) -> dict:
    return {"tag": "div", "text": {"tag": "lark_md", "content": content}}


def _short(text: str) -> str:
    return text if len(text) <= MAX_LINE_CHARS else text[:MAX_LINE_CHARS - 1] + "…"


def body_bytes(part: dict) -> int:
    """What ``part`` of a card adds to the request body that carries the card as a JSON string."""
    return len(json.dumps(json.dumps(part, ensure_ascii=False), ensure_ascii=False).encode("utf-8"))


def _elements(card: Card, lang: str) -> list[dict]:
    zh = lang == "zh_cn"
    fields = [_field("状态" if zh else "Status", card.status_zh if zh else card.status_en),
              _field("开始" if zh else "Started", card.started_at)]
    if card.acted_by:
        acted_by = card.acted_by if zh else card.acted_by_en or card.acted_by
        fields.append(_field("处理人" if zh else "By", literal(acted_by)))
    if card.silenced_until:
        silence = f" · ID {literal(card.silence_id)}" if card.silence_id else ""
        fields.append(_field("屏蔽至" if zh else "Silenced until", card.silenced_until + silence))
    elements = [{"tag": "div", "fields": fields}]
    if calls := at_tags(card):
        elements.append({"tag": "div", "text": {"tag": "lark_md", "content": calls}})
    if card.description:
        elements.append(_plain(card.description))
    if card.facts:
        elements.append(_markdown(_facts_text(card)))
    if card.alert_count:
        elements.append(_markdown(_alerts_text(card, zh)))
    if card.more:
        elements.append(_markdown(f"[{card.more}]({card.url})"))
    return elements + _picture(card, zh) + [{"tag": "hr"}, {"tag": "action", "actions": _actions(card, zh)}]


def _picture(card: Card, zh: bool) -> list[dict]:
    """The incident's picture as an ``img`` element (its image_key uploaded by this app); none without one."""
    if not card.image:
        return []
    alt = "告警图片" if zh else "Alert picture"
    return [{"tag": "img", "img_key": card.image, "alt": {"tag": "plain_text", "content": alt},
             "mode": "fit_horizontal", "preview": True}]


def _actions(card: Card, zh: bool) -> list[dict]:
    style = {"ack": "primary", "resolve": "danger", "silence": "default", "unsilence": "default"}
    actions: list[dict] = [
        {"tag": "button", "type": style[b.action.value],
         "text": {"tag": "plain_text", "content": b.zh if zh else b.en},
         "value": {"action": b.action.value, "incident_id": card.incident_id,
                   **({"minutes": b.minutes} if b.minutes else {})}}
        for b in card.buttons]
    if card.silence_menu:
        actions.append({"tag": "overflow", "value": {"action": "silence", "incident_id": card.incident_id},
                        "options": [{"text": {"tag": "plain_text", "content": b.zh if zh else b.en},
                                     "value": f"silence:{b.minutes}"} for b in card.silence_menu]})
    if card.war_room:
        actions.append({"tag": "button", "type": "default",
                        "text": {"tag": "plain_text", "content": WAR_ROOM_TEXT[0] if zh else WAR_ROOM_TEXT[1]},
                        "value": {"action": WAR_ROOM, "incident_id": card.incident_id}})
    actions.append({"tag": "button", "type": "default", "url": card.url,
                    "text": {"tag": "plain_text", "content": "查看详情" if zh else "Details"}})
    return actions


def render(card: Card) -> dict:
    """The card with as much of the incident as fits each text element and the request body's limit."""
    return _card(fitted(card))


def fitted(card: Card) -> Card:
    return fit(card, _fits, lambda description: len(description) <= MAX_TEXT)


def _fits(card: Card) -> bool:
    texts = [_facts_text(card), _alerts_text(card, True), _alerts_text(card, False)]
    return all(len(text) <= MAX_TEXT for text in texts) and body_bytes(_card(card)) <= MAX_BODY_BYTES - BODY_ROOM


def _card(card: Card) -> dict:
    template = "green" if card.status == "resolved" else TEMPLATE[card.severity]
    return {
        "config": {"wide_screen_mode": True, "update_multi": True},
        "header": {"template": template, "title": {
            "tag": "plain_text", "content": f"[{card.severity_zh}] {card.title}",
            "i18n": {"zh_cn": f"[{card.severity_zh}] {card.title}", "en_us": f"[{card.severity_en}] {card.title}"}}},
        "i18n_elements": {lang: _elements(card, lang) for lang in ("zh_cn", "en_us")},
    }
