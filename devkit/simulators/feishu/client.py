"""Feishu's client as a program uses it: the interactive messages, their buttons and overflow menu, the bot
in groups."""
from __future__ import annotations

import json
from typing import Any

from devkit.simulators.client import INCIDENT_IN_URL, ClientView, SimCard
from devkit.simulators.feishu.cards import button_values, overflow_options


class FeishuClient(ClientView):
    name, join = "feishu", "add-bot"

    def __init__(self, sim: Any, sim_url: str, silence_minutes: int) -> None:
        super().__init__(sim, sim_url, silence_minutes)
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
                   if value.get("action") in ("ack", "resolve", "unsilence")}
        for value, option in overflow_options(card.content):
            if option == f"silence:{self.silence_minutes}":
                offered["silence"] = {"value": value, "option": option}
        return offered

    def _groups(self) -> list[tuple[str, bool]]:
        with self.sim.lock:
            return [(g.chat_id, g.bot_in_chat) for g in self.sim.directory.groups.values() if not g.dissolved]

    def _who(self, card: SimCard, user: str) -> dict[str, str]:
        return {"message_id": card.handle, "open_id": user}
