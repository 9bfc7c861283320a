"""A simulated client as a program uses it: the cards it shows, their buttons, a person's click through
the simulator's click path, and the groups the app is in (the fault run drives and audits through it).

Cards are read from the simulator's state under its lock (what ``GET /<platform>/_sim/state`` shows),
clicks go through ``POST /<platform>/_sim/click`` (a signed callback to the app, its reply applied only
when it comes back within the platform's deadline). Each simulator package has its ``client.py``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import requests

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


class ClientView:
    """The parts every platform shares; subclasses name the platform and read its own card store.

    ``silence_minutes`` is the silence a person picks from a card's menu."""

    name = ""
    join = ""  # the simulator's control action that puts the app into a group

    def __init__(self, sim: Any, sim_url: str, silence_minutes: int) -> None:
        self.sim, self.sim_url, self.silence_minutes = sim, sim_url, silence_minutes

    def cards(self) -> list[SimCard]:
        raise NotImplementedError

    def actions(self, card: SimCard) -> dict[str, dict[str, Any]]:
        """What pressing ack, resolve, unsilence or the silence of ``silence_minutes`` on ``card`` sends, for those
        it offers."""
        raise NotImplementedError

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
