"""WeCom's client as a program uses it: the template cards sent to people, their buttons and menus."""
from __future__ import annotations

from typing import Any

from devkit.simulators.client import INCIDENT_IN_URL, ClientView, SimCard
from devkit.simulators.wecom.cards import button_keys, menu_keys


class WeComClient(ClientView):
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
        wanted = {"ack": "ack/0/", "resolve": "resolve/0/", "silence": f"silence/{self.silence_minutes}/",
                  "unsilence": "unsilence/0/"}
        return {action: {"key": key} for action, prefix in wanted.items() for key in keys if key.startswith(prefix)}

    def _who(self, card: SimCard, user: str) -> dict[str, str]:
        return {"userid": user, "task_id": card.handle}
