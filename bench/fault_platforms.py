"""What the fault run needs from the app for each platform: the card the app would show for an incident
now, and the status line a shown card says.

The expected card is the app's own rendering of ``cards.build(incident)``, so a card counts as current
only when it shows exactly that. The simulators' side (the cards a client shows, their buttons, a
person's click) is each simulator package's ``client.py``, found through ``devkit.simulators.SIMULATORS``.
"""
from __future__ import annotations

import json
from typing import Any

from chalicelib.core.cards import Card
from chalicelib.core.wording import STATUS_TEXT
from chalicelib.platforms.dingtalk import cards as dingtalk_cards
from chalicelib.platforms.feishu import cards as feishu_cards
from chalicelib.platforms.wecom import cards as wecom_cards
from devkit.simulators.client import SimCard

SILENCE_MINUTES = 1440  # the menu's 24 h: no silence ends during a run, so no card goes out of date by itself
RENDERINGS = {
    "dingtalk": lambda adapter, shown, card: dingtalk_cards.card_params(adapter.offered(shown)),
    "feishu": lambda adapter, shown, card: feishu_cards.render(adapter.offered(shown)),
    "wecom": lambda adapter, shown, card: wecom_cards.render(adapter.offered(shown), card.handle),
}


def status_shown(card: SimCard) -> str:
    """The status line the card shows (待处理 / 处理中 / 已关闭), or ? when it shows none or several."""
    text = json.dumps(card.content, ensure_ascii=False)
    found = [zh for zh, _ in STATUS_TEXT.values() if zh in text]
    return found[0] if len(found) == 1 else "?"


def expected(adapter: Any, shown: Card, card: SimCard) -> dict[str, Any]:
    """The card ``adapter`` would send for ``shown``, as the platform stores it (JSON, so tuples are lists)."""
    return json.loads(json.dumps(RENDERINGS[adapter.name](adapter, shown, card), ensure_ascii=False))
