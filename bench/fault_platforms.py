"""What the fault run needs from each platform: the cards its simulator shows, their buttons, a person's
click through the simulator's click path, and the card the app would show for an incident now.

Cards are read from the simulators' state under their lock (what ``GET /<platform>/_sim/state`` shows),
clicks go through ``POST /<platform>/_sim/click`` (a signed callback to the app, its reply applied only
when it comes back within the platform's deadline), and the expected card is the app's own rendering
of ``cards.build(incident)``, so a card counts as current only when it shows exactly that.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import requests

from chalicelib.core.cards import STATUS_TEXT, Card
from chalicelib.platforms.dingtalk import cards as dingtalk_cards
from chalicelib.platforms.feishu import cards as feishu_cards
from chalicelib.platforms.wecom import cards as wecom_cards
from devkit.simulators.feishu.cards import button_values, overflow_options
from devkit.simulators.wecom.cards import button_keys, menu_keys

SILENCE_MINUTES = 1440  # the menu's 24 h: no silence ends during a run, so no card goes out of date by itself
INCIDENT_IN_URL = re.compile(r"/incidents/([A-Za-z0-9_.:@-]+)")


@dataclass
class SimCard:
    """One card as a platform shows it."""

    platform: str
    kind: str  # "user" (a 1:1 chat with the app) or "chat" (a group)
    target: str  # the delivery target: the platform user id or the chat id
    incident_id: str
    handle: str  # what a click names: DingTalk outTrackId, Feishu message_id, WeCom task_id
    content: dict[str, Any]

    def status_shown(self) -> str:
        """The status line the card shows (待处理 / 处理中 / 已关闭), or ? when it shows none or several."""
        text = json.dumps(self.content, ensure_ascii=False)
        found = [zh for zh, _ in STATUS_TEXT.values() if zh in text]
        return found[0] if len(found) == 1 else "?"


def _normal(value: Any) -> Any:
    """A rendering as the platform stores it (JSON, so tuples are lists)."""
    return json.loads(json.dumps(value, ensure_ascii=False))


class View:
    """The parts every platform shares; subclasses name the platform and read its own card store."""

    name = ""
    join = ""  # the simulator's control action that puts the app into a group

    def __init__(self, sim: Any, sim_url: str) -> None:
        self.sim, self.sim_url = sim, sim_url

    def reachable(self, user: str) -> bool:
        """Whether the platform lets the app message ``user`` at all."""
        return True

    def members(self, chat_id: str) -> list[str]:
        with self.sim.lock:
            return list(self.sim.directory.groups[chat_id].members)

    def join_groups(self, console: Any) -> list[str]:
        """The app in every group of the org (the walkthrough put it into the first); their chat ids."""
        groups = self._groups()
        for chat, joined in groups:
            if not joined:
                console.sim("POST", f"/_sim/groups/{chat}/{self.join}", {}, platform=self.name)
        return [chat for chat, _ in groups]

    def click(self, card: SimCard, user: str, press: dict[str, Any]) -> dict[str, Any]:
        """``user`` presses a button of ``card`` (``press`` from ``actions``) through the simulator's click path."""
        response = requests.post(f"{self.sim_url}/{self.name}/_sim/click", json={**self._who(card, user), **press},
                                 timeout=60)
        answer = response.json()
        return answer if response.ok else {"refused": answer.get("error", response.status_code)}

    def _groups(self) -> list[tuple[str, bool]]:
        raise NotImplementedError

    def _who(self, card: SimCard, user: str) -> dict[str, str]:
        raise NotImplementedError


class DingTalkView(View):
    name, join = "dingtalk", "install-cool-app"

    def cards(self) -> list[SimCard]:
        with self.sim.lock:
            found = []
            for card in self.sim.cards.cards.values():
                for space in card.spaces:
                    if space["success"]:
                        kind = "user" if space["spaceType"] == "IM_ROBOT" else "chat"
                        found.append(SimCard(self.name, kind, space["key"].split(".", 1)[1],
                                             card.out_track_id.rsplit(".", 1)[0], card.out_track_id, dict(card.public)))
            return found

    def actions(self, card: SimCard) -> dict[str, dict[str, Any]]:
        params = {"ack": {}, "resolve": {}, "silence": {"minutes": str(SILENCE_MINUTES)}}
        return {action: {"actionId": action, "params": p} for action, p in params.items()
                if card.content.get(f"can_{action}") == "true"}

    def expected(self, adapter: Any, shown: Card, card: SimCard) -> dict[str, Any]:
        return _normal(dingtalk_cards.card_params(adapter.offered(shown)))

    def _groups(self) -> list[tuple[str, bool]]:
        with self.sim.lock:
            return [(g.open_conversation_id, g.cool_app_installed) for g in self.sim.directory.groups.values()]

    def _who(self, card: SimCard, user: str) -> dict[str, str]:
        return {"outTrackId": card.handle, "userId": user}


class FeishuView(View):
    name, join = "feishu", "add-bot"

    def __init__(self, sim: Any, sim_url: str) -> None:
        super().__init__(sim, sim_url)
        self.incident_of: dict[str, str] = {}  # message_id -> incident id (from the card's details link)

    def cards(self) -> list[SimCard]:
        with self.sim.lock:
            found = []
            for message in self.sim.messages.messages.values():
                if message.msg_type != "interactive":
                    continue
                if message.message_id not in self.incident_of:
                    link = INCIDENT_IN_URL.search(json.dumps(message.content))
                    self.incident_of[message.message_id] = link.group(1) if link else ""
                kind, _, target = message.space.partition(":")
                found.append(SimCard(self.name, "user" if kind == "p2p" else "chat", target,
                                     self.incident_of[message.message_id], message.message_id, message.content))
            return found

    def actions(self, card: SimCard) -> dict[str, dict[str, Any]]:
        offered = {value["action"]: {"value": value} for value in button_values(card.content)
                   if value.get("action") in ("ack", "resolve")}
        for value, option in overflow_options(card.content):
            if option == f"silence:{SILENCE_MINUTES}":
                offered["silence"] = {"value": value, "option": option}
        return offered

    def expected(self, adapter: Any, shown: Card, card: SimCard) -> dict[str, Any]:
        return _normal(feishu_cards.render(adapter.offered(shown)))

    def _groups(self) -> list[tuple[str, bool]]:
        with self.sim.lock:
            return [(g.chat_id, g.bot_in_chat) for g in self.sim.directory.groups.values() if not g.dissolved]

    def _who(self, card: SimCard, user: str) -> dict[str, str]:
        return {"message_id": card.handle, "open_id": user}


class WeComView(View):
    name = "wecom"

    def cards(self) -> list[SimCard]:
        with self.sim.lock:
            found = []
            for (userid, task_id), message in self.sim.messages.cards.items():
                link = INCIDENT_IN_URL.search(str((message.content.get("card_action") or {}).get("url", "")))
                renamed = {"replace_name": message.replace_name} if message.replace_name else {}
                content = {**message.content, **renamed}
                found.append(SimCard(self.name, "user", userid, link.group(1) if link else "", task_id, content))
            return found

    def reachable(self, user: str) -> bool:
        """Members without a WeCom licence get no app messages at all."""
        with self.sim.lock:
            return self.sim.directory.users[user].licensed

    def join_groups(self, console: Any) -> list[str]:
        return []  # the app's own group chats (war rooms) take no button cards

    def actions(self, card: SimCard) -> dict[str, dict[str, Any]]:
        if card.content.get("replace_name"):
            return {}
        keys = button_keys(card.content) + menu_keys(card.content)
        wanted = {"ack": "ack/0/", "resolve": "resolve/0/", "silence": f"silence/{SILENCE_MINUTES}/"}
        return {action: {"key": key} for action, prefix in wanted.items() for key in keys if key.startswith(prefix)}

    def expected(self, adapter: Any, shown: Card, card: SimCard) -> dict[str, Any]:
        return _normal(wecom_cards.render(adapter.offered(shown), card.handle))

    def _who(self, card: SimCard, user: str) -> dict[str, str]:
        return {"userid": user, "task_id": card.handle}


VIEWS = {"dingtalk": DingTalkView, "feishu": FeishuView, "wecom": WeComView}
