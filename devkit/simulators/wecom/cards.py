"""Template cards (模板卡片): the checks ``message/send`` makes, single-use response codes, and the XML form a
passive reply uses to update a card.

A callback card (``button_interaction``, ``vote_interaction``, ``multiple_interaction``, or a notice card
with an ``action_menu``) needs a ``task_id`` of ``[0-9a-zA-Z_-@]`` (≤ 128, unique per app) and an app with
a callback URL. Each send of one, and each click on one, issues a response code that allows one
``update_template_card`` within 72 hours.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from devkit.simulators.wecom.gate import WeComError, invalid_parameter

CARD_TYPES = ("text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction")
INTERACTIVE = CARD_TYPES[2:]
TASK_ID = re.compile(r"[0-9a-zA-Z_\-@]{1,128}")
CODE_TTL = 72 * 3600
MAX_BUTTONS, MAX_MENU_ACTIONS, MAX_LINES, MAX_KEY_BYTES = 6, 3, 6, 1024
TASK_ID_REFUSED = "taskid has existed or empty or exceed max len"  # 42014, as live send answers it

# The passive reply's XML names: lists repeat their element, a few numbers, and two JSON names not in snake case.
XML_LISTS = {"HorizontalContentList", "JumpList", "ButtonList", "ActionList", "VerticalContentList", "OptionList",
             "SelectList"}
XML_NUMBERS = {"Type", "Style", "DescColor", "Mode"}
XML_NAMES = {"KeyName": "keyname", "UserId": "userid"}


def is_callback_card(card: dict[str, Any]) -> bool:
    return card.get("card_type") in INTERACTIVE or isinstance(card.get("action_menu"), dict)


def button_keys(card: dict[str, Any]) -> list[str]:
    return [str(b.get("key")) for b in card.get("button_list") or [] if isinstance(b, dict)]


def menu_keys(card: dict[str, Any]) -> list[str]:
    menu = card.get("action_menu") if isinstance(card.get("action_menu"), dict) else {}
    return [str(a.get("key")) for a in menu.get("action_list") or [] if isinstance(a, dict)]


def check_card(card: Any) -> dict[str, Any]:
    """The card as ``message/send`` and ``update_template_card`` accept it, or WeCom's refusal."""
    if not isinstance(card, dict) or card.get("card_type") not in CARD_TYPES:
        raise invalid_parameter("template_card.card_type")
    if not isinstance(card.get("main_title"), dict):
        raise invalid_parameter("template_card.main_title is required")
    if is_callback_card(card) and not TASK_ID.fullmatch(str(card.get("task_id") or "")):
        raise WeComError(42014, TASK_ID_REFUSED, f"task_id {card.get('task_id')!r} is empty, too long or not "
                                                 "[0-9a-zA-Z_-@]")
    _check_source(card.get("source"))
    _check_lines(card.get("horizontal_content_list"))
    _check_menu(card.get("action_menu"))
    if card["card_type"] == "button_interaction":
        _check_buttons(card.get("button_list"))
    return card


def _check_source(source: Any) -> None:
    if source is not None and (not isinstance(source, dict) or source.get("desc_color", 0) not in (0, 1, 2, 3)):
        raise invalid_parameter("template_card.source.desc_color must be 0-3")


def _check_lines(lines: Any) -> None:
    if lines is None:
        return
    if not isinstance(lines, list) or len(lines) > MAX_LINES:
        raise invalid_parameter(f"template_card.horizontal_content_list exceeds {MAX_LINES} items")
    if any(not isinstance(line, dict) or not line.get("keyname") for line in lines):
        raise invalid_parameter("template_card.horizontal_content_list.keyname is required")
    if any(line.get("type") == 1 and not line.get("url") for line in lines):  # 模板卡片类型: url 在 type 为 1 时必填
        raise invalid_parameter("template_card.horizontal_content_list.url is required when type is 1")


def _check_keyed(items: Any, where: str, most: int) -> None:
    """Buttons and menu actions: 1..most items, each with text and a unique key of at most 1024 bytes."""
    if not isinstance(items, list) or not 1 <= len(items) <= most:
        raise invalid_parameter(f"{where} must hold 1 to {most} items")
    keys = []
    for item in items:
        if not isinstance(item, dict) or not item.get("text") or not item.get("key"):
            raise invalid_parameter(f"{where}.text and {where}.key are required")
        if len(str(item["key"]).encode("utf-8")) > MAX_KEY_BYTES:
            raise invalid_parameter(f"{where}.key exceeds {MAX_KEY_BYTES} bytes")
        keys.append(str(item["key"]))
    if len(set(keys)) != len(keys):
        raise invalid_parameter(f"{where}.key must be unique")


def _check_menu(menu: Any) -> None:
    if menu is None:
        return
    if not isinstance(menu, dict):
        raise invalid_parameter("template_card.action_menu")
    _check_keyed(menu.get("action_list"), "template_card.action_menu.action_list", MAX_MENU_ACTIONS)


def _check_buttons(buttons: Any) -> None:
    _check_keyed(buttons, "template_card.button_list", MAX_BUTTONS)
    if any(b.get("style", 1) not in (1, 2, 3, 4) for b in buttons):
        raise invalid_parameter("template_card.button_list.style must be 1-4")


def card_from_xml(node: Element) -> dict[str, Any]:
    """A passive reply's ``<TemplateCard>`` as the JSON card it stands for."""
    card: dict[str, Any] = {}
    for child in node:
        name = XML_NAMES.get(child.tag) or re.sub(r"(?<!^)(?=[A-Z])", "_", child.tag).lower()
        value = card_from_xml(child) if len(child) else _leaf(child)
        if child.tag in XML_LISTS:
            card.setdefault(name, []).append(value)
        else:
            card[name] = value
    return card


def _leaf(node: Element) -> Any:
    text = (node.text or "").strip()
    return int(text) if node.tag in XML_NUMBERS and text.isdigit() else text


@dataclass
class ResponseCode:
    code: str
    task_id: str
    issued_at: float
    source: str  # "send" or "click:<userid>"
    used_at: float | None = None

    def live(self, now: float) -> bool:
        return self.used_at is None and now - self.issued_at < CODE_TTL

    def public(self, now: float) -> dict[str, Any]:
        return {"code": self.code, "taskId": self.task_id, "issuedAt": self.issued_at, "source": self.source,
                "usedAt": self.used_at, "live": self.live(now)}


class ResponseCodes:
    """The update codes issued for the app's callback cards. Callers hold the simulator lock."""

    def __init__(self) -> None:
        self.codes: dict[str, ResponseCode] = {}

    def mint(self, task_id: str, source: str, now: float) -> str:
        code = secrets.token_urlsafe(48)
        self.codes[code] = ResponseCode(code, task_id, now, source)
        return code

    def take(self, code: str, now: float) -> ResponseCode:
        """The live code, or WeCom's refusal; the caller marks it used once the update went through."""
        found = self.codes.get(code)
        if found is None or now - found.issued_at >= CODE_TTL:
            raise invalid_parameter("response_code is invalid or expired (72 h)")
        if found.used_at is not None:
            raise WeComError(42022, "code has been used", f"response_code used at {found.used_at}")
        return found

    def budget(self, task_id: str, now: float) -> int:
        """How many more updates the task's cards can still get."""
        return sum(1 for c in self.codes.values() if c.task_id == task_id and c.live(now))
