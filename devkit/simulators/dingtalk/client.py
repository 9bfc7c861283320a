"""DingTalk's client as a program uses it: the cards in robot chats and groups, their buttons, the cool app
in groups."""
from __future__ import annotations

from typing import Any

from devkit.simulators.client import ClientView, SimCard


class DingTalkClient(ClientView):
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
        params = {"ack": {}, "resolve": {}, "silence": {"minutes": str(self.silence_minutes)}, "unsilence": {}}
        return {action: {"actionId": action, "params": p} for action, p in params.items()
                if card.content.get(f"can_{action}") == "true"}

    def _groups(self) -> list[tuple[str, bool]]:
        with self.sim.lock:
            return [(g.open_conversation_id, g.cool_app_installed) for g in self.sim.directory.groups.values()]

    def _who(self, card: SimCard, user: str) -> dict[str, str]:
        return {"outTrackId": card.handle, "userId": user}
