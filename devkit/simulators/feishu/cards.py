"""Feishu card JSON as the server checks it before a card message is created or updated.

JSON 1.0 cards carry ``elements`` (or ``i18n_elements``) with buttons inside ``{"tag": "action",
"actions": [...]}``; JSON 2.0 cards declare ``"schema": "2.0"`` and put components in ``body.elements``,
where the ``action`` wrapper is refused (sub-code 200861). Card failures are code 230099 with
``ext=ErrCode: <sub>; ErrMsg: <detail>`` (sub-codes from the send-message doc's 230099 table).
"""
from __future__ import annotations

import json
from typing import Any, Iterator

from devkit.simulators.feishu.gate import FeishuError, api_error, invalid_param

MAX_CARD_BYTES = 30 * 1024
HEADER_TEMPLATES = ("blue", "wathet", "turquoise", "green", "yellow", "orange", "red", "carmine", "violet",
                    "purple", "indigo", "grey", "default")


def card_error(sub_code: int, detail: str) -> FeishuError:
    return api_error(230099, f"Failed to create card content, ext=ErrCode: {sub_code}; ErrMsg: {detail}",
                     f"card refused ({sub_code}): {detail}")


def too_long() -> FeishuError:
    return api_error(230025, "The length of the message content reaches its limit.", "card over 30 KB")


def parse_card_content(content: Any) -> dict[str, Any]:
    """``content`` of an interactive message: a string holding the card JSON."""
    if not isinstance(content, str) or not content:
        raise invalid_param("content should be a JSON string")
    if len(content.encode("utf-8")) > MAX_CARD_BYTES:
        raise too_long()
    try:
        card = json.loads(content)
    except json.JSONDecodeError as exc:
        raise card_error(200621, "parse card json err") from exc
    return check_card(card)


def check_card(card: Any) -> dict[str, Any]:
    """A card object (message content, callback reply or delayed update); raises 230099 when refused."""
    if not isinstance(card, dict):
        raise card_error(200621, "parse card json err")
    if card.get("type") == "template":
        raise card_error(200380, "template does not exist")
    elements = _elements(card)
    for element in _walk(elements):
        _check_component(element, card.get("schema") == "2.0")
    _check_header(card.get("header"))
    return card


def update_multi(card: dict[str, Any]) -> bool:
    config = card.get("config")
    return isinstance(config, dict) and config.get("update_multi") is True


def button_values(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The callback value of every button (JSON 1.0 ``value``, 2.0 ``behaviors[type=callback].value``)."""
    values = []
    for element in _walk(_elements(card)):
        if element["tag"] != "button":
            continue
        behaviors = [b.get("value") for b in element.get("behaviors") or [] if isinstance(b, dict)
                     and b.get("type") == "callback"]
        values += [v for v in [element.get("value"), *behaviors] if isinstance(v, dict)]
    return values


def overflow_options(card: dict[str, Any]) -> list[tuple[Any, Any]]:
    """``(value, option)`` of every overflow menu choice: a pick sends the menu's value and the option's."""
    return [(element.get("value"), option.get("value")) for element in _walk(_elements(card))
            if element["tag"] == "overflow" for option in element.get("options") or [] if isinstance(option, dict)]


def _elements(card: dict[str, Any]) -> list[Any]:
    if card.get("schema") == "2.0":
        body = card.get("body")
        elements = body.get("elements") if isinstance(body, dict) else None
        if not isinstance(elements, list):
            raise card_error(11310, "schema 2.0 card needs body.elements")
        return elements
    if isinstance(card.get("i18n_elements"), dict):
        return [e for locale in card["i18n_elements"].values() if isinstance(locale, list) for e in locale]
    if not isinstance(card.get("elements"), list):
        raise card_error(11310, "card needs an elements array (JSON 1.0) or schema 2.0 with body.elements")
    return card["elements"]


def _walk(elements: list[Any]) -> Iterator[dict[str, Any]]:
    """Components depth-first, through action groups, columns and collapsible panels."""
    for element in elements:
        if not isinstance(element, dict) or not isinstance(element.get("tag"), str):
            raise card_error(11310, "every card element must be an object with a tag")
        yield element
        for key in ("actions", "elements", "columns"):
            if isinstance(element.get(key), list):
                yield from _walk(element[key])


def _check_component(element: dict[str, Any], schema_v2: bool) -> None:
    tag = element["tag"]
    if tag == "action":
        if schema_v2:
            raise card_error(200861, "cards of schema V2 no longer support this capability")
        if not isinstance(element.get("actions"), list) or not element["actions"]:
            raise card_error(11310, "action element needs a non-empty actions array")
    if tag == "button":
        text = element.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("content"), str):
            raise card_error(11310, "button needs text {tag, content}")
        if "value" in element and not isinstance(element["value"], dict):
            raise card_error(11310, "button value must be an object")


def _check_header(header: Any) -> None:
    if header is None:
        return
    if not isinstance(header, dict) or not isinstance(header.get("title"), dict):
        raise card_error(11310, "header needs a title object")
    if header.get("template", "default") not in HEADER_TEMPLATES:
        raise card_error(11310, f"unknown header template {header.get('template')!r}")
