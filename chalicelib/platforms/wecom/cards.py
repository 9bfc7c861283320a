"""Render the neutral card as a WeCom ``button_interaction`` template card, and a group summary.

Template card fields are plain text (WeCom renders no markup in them); the group summary is markdown,
so producer text in it is made literal.

WeCom allows at most 6 buttons and shows at most 8 lines of custom content (6 of them in
``horizontal_content_list``, whose type 1 line links to a url: 模板卡片类型 doc); the longer silences
live in the card's top-right ``action_menu`` (the seed's ``...``), and a 状态刷新 button is always
there so a person can earn the card another update when its 72-hour update budget is spent.
"""
from __future__ import annotations

import re

from chalicelib.common.ids import ID_PATTERN
from chalicelib.core.cards import WAR_ROOM, WAR_ROOM_TEXT, Card
from chalicelib.core.fitting import fit
from chalicelib.core.models import REPORT_PREFIX

SOURCE_COLOR = {"critical": 2, "warning": 1, "info": 0}  # WeCom desc_color: 0 grey, 1 black, 2 red, 3 green
BUTTON_STYLE = {"ack": 1, "resolve": 2, "silence": 3, "unsilence": 3, WAR_ROOM: 4}
MAX_LINES = 8
MAX_BUTTONS = 6
MAX_VALUE = 120  # characters of a content line's value
MAX_KEY = 30  # characters of a content line's name
MAX_SUB_TITLE = 120  # characters of the sub-title, which shows the description
SUMMARY_TITLE = 120  # characters of the title a group summary shows
SUMMARY_BYTES = 2048  # appchat/send: markdown content is at most 2048 bytes
SUMMARY_ALERTS = 5  # alert lines a group summary shows at most
LITERAL = str.maketrans({"[": "［", "]": "］", "<": "＜", "*": "＊", "`": "｀",
                         **dict.fromkeys("\r\n\u2028\u2029", " ")})
# What button_key writes: ASCII only, so int() never meets '²' or '１' and never parses 5,000 digits.
KEY = re.compile(r"(?P<action>[a-z_]{1,16})/(?P<minutes>0|[1-9][0-9]{0,5})/(?P<incident>[^/]+)", re.ASCII)


def button_key(action: str, minutes: int | None, incident_id: str) -> str:
    return f"{action}/{minutes or 0}/{incident_id}"


def parse_key(key: str) -> tuple[str, int | None, str] | None:
    """(action, minutes or None, incident id) of a key this app wrote, else None."""
    found = KEY.fullmatch(key)
    if found is None or not re.fullmatch(ID_PATTERN, found["incident"]):
        return None
    return found["action"], int(found["minutes"]) or None, found["incident"]


def _lines(card: Card) -> list[dict]:
    """The content lines of a fitted card: who and when (unless a template makes the custom area), then its
    facts and alerts in priority order, then the line saying what was left out, linking to the incident page
    (the status is the main title's desc)."""
    lines = ([] if card.templated else _when_and_who(card)) + picture_line(card)
    lines += [_fact(key, value) for key, value in card.facts[:card.lead]]
    if card.alert_count:
        lines.append({"keyname": "告警 Alerts", "value": card.alert_count[:MAX_VALUE]})
        lines += [{"keyname": f"{a.status_zh} {a.status_en}", "value": f"{a.at} {a.text}"[:MAX_VALUE]}
                  for a in card.alerts]
    lines += [_fact(key, value) for key, value in card.facts[card.lead:]]
    if card.more:
        lines.append({"keyname": "更多 More", "value": card.more, "type": 1, "url": card.url})
    return lines


def picture_line(card: Card) -> list[dict]:
    """The picture's lasting URL (media/uploadimg) as a content line of type 1 that opens it: a
    button_interaction card has no picture of its own."""
    return [{"keyname": "图片 Picture", "value": "查看图片 View", "type": 1, "url": card.image}] if card.image else []


def _when_and_who(card: Card) -> list[dict]:
    lines = [{"keyname": "开始 Started", "value": card.started_at}]
    if card.acted_by:
        lines.append({"keyname": "处理人 By", "value": card.acted_by[:MAX_VALUE]})
    if card.silenced_until:
        silence = f" · ID {card.silence_id}" if card.silence_id else ""
        lines.append({"keyname": "屏蔽至 Silenced", "value": (card.silenced_until + silence)[:MAX_VALUE]})
    return lines


def _fact(key: str, value: str) -> dict:
    """A label or template line; a template line without a name gets a dot for the name WeCom requires."""
    return {"keyname": key[:MAX_KEY] or "·", "value": value[:MAX_VALUE]}


def fitted(card: Card) -> Card:
    """The card within the template card's content lines and sub-title length."""
    return fit(card, lambda shown: len(_lines(shown)) <= MAX_LINES - 2,  # the title and sub-title take two
               lambda description: len(description) <= MAX_SUB_TITLE)


def render(card: Card, task_id: str) -> dict:
    card = fitted(card)
    if card.notice:  # nothing to act on: a notice card that opens the web app, with its picture if any
        if card.image:
            return {"card_type": "news_notice", **_body(card), "card_image": {"url": card.image},
                    **_refreshable(card, task_id)}
        return {"card_type": "text_notice", **_body(card), **_refreshable(card, task_id)}
    buttons = [{"text": f"{b.zh} {b.en}"[:24], "style": BUTTON_STYLE[b.action.value],
                "key": button_key(b.action.value, b.minutes, card.incident_id)} for b in card.buttons]
    if card.war_room:
        buttons.append({"text": " ".join(WAR_ROOM_TEXT), "style": BUTTON_STYLE[WAR_ROOM],
                        "key": button_key(WAR_ROOM, None, card.incident_id)})
    buttons.append({"text": "状态刷新 Refresh", "style": 4, "key": button_key("refresh", None, card.incident_id)})
    template = {"card_type": "button_interaction", "task_id": task_id, **_body(card),
                "button_list": buttons[:MAX_BUTTONS]}
    if card.silence_menu:
        template["action_menu"] = {"desc": "更多屏蔽 More", "action_list": [
            {"text": f"{b.zh} {b.en}", "key": button_key("silence", b.minutes, card.incident_id)}
            for b in card.silence_menu]}
    return template


def _refreshable(card: Card, task_id: str) -> dict:
    """A report's notice is updated when the report is sent again; WeCom updates a text_notice only when it
    went out with an ``action_menu`` (which needs a ``task_id``), and only then answers the send with a
    response_code (更新模版卡片消息, developer.work.weixin.qq.com/document/path/94888). Its one entry is
    状态刷新, whose click brings a fresh code, as on incident cards. Digests and warnings are sent once."""
    if not card.incident_id.startswith(REPORT_PREFIX):
        return {}
    return {"task_id": task_id, "action_menu": {"desc": "刷新 Refresh", "action_list": [
        {"text": "状态刷新 Refresh", "key": button_key("refresh", None, card.incident_id)}]}}


def _body(card: Card) -> dict:
    return {"source": {"desc": f"{card.severity_zh} {card.severity_en}", "desc_color": SOURCE_COLOR[card.severity]},
            "main_title": {"title": card.title[:36], "desc": f"{card.status_zh} {card.status_en}"},
            "sub_title_text": card.description, "horizontal_content_list": _lines(card),
            "card_action": {"type": 1, "url": card.url}}


def literal(text: str) -> str:
    """Producer text as WeCom markdown shows it as written. WeCom's markdown has no escape character, so
    the signs that open its links ``[x](url)``, tags (``<font>``, ``<@userid>`` mentions), bold and code
    become their full-width look-alikes, and line breaks (after which ``>`` or ``#`` would start a quote
    or heading) spaces; a ``>`` elsewhere stays, as in "CPU > 95%"."""
    return text.translate(LITERAL)


def picture_link(card: Card) -> str:
    """The group summary's link to the picture, after the details link; "" without one."""
    return f" · [图片 Picture]({card.image})" if card.image else ""


def summary(card: Card) -> str:
    """The markdown a group chat gets (WeCom app groups cannot carry button cards)."""
    return summary_text(summary_shown(card))


def summary_shown(card: Card) -> Card:
    """What a group summary shows of ``card`` within WeCom's 2048 bytes: the title cut, the facts and first
    few alerts that fit, the rest counted on the "+N more" line (the details link shows everything)."""
    title = card.title if len(card.title) <= SUMMARY_TITLE else card.title[:SUMMARY_TITLE - 1] + "…"
    brief = card.model_copy(update={"title": title, "alerts": card.alerts[:SUMMARY_ALERTS], "description": ""})
    return fit(brief, lambda shown: len(summary_text(shown).encode("utf-8")) <= SUMMARY_BYTES)


def summary_text(card: Card) -> str:
    lines = [f"**[{card.severity_zh}] {literal(card.title)}**", f"> 状态 Status: {card.status_zh} {card.status_en}",
             f"> 开始 Started: {card.started_at}"]
    if card.acted_by:
        lines.append(f"> 处理人 By: {literal(card.acted_by)}")
    facts = [f"> {literal(key)}: {literal(value[:SUMMARY_TITLE])}" if key else f"> {literal(value[:SUMMARY_TITLE])}"
             for key, value in card.facts]
    alerts = [f"> {literal(card.alert_count)}"] if card.alert_count else []
    alerts += [f"> {a.status_zh} {a.status_en} · {a.at} · {literal(a.text[:SUMMARY_TITLE])}" for a in card.alerts]
    more = [f"[{card.more}]({card.url})"] if card.more else []
    details = f"[查看详情 Details]({card.url})" + picture_link(card)
    return "\n".join(lines + facts[:card.lead] + alerts + facts[card.lead:] + more + [details])
