"""WeCom group robot (群机器人 / 消息推送): markdown into one group through its webhook.

Webhook: ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``; the key is the secret, nothing is
signed. The incident goes as markdown (at most 4,096 bytes; ``<@userid>`` names members linked on a WeCom
app); a member is rung by mobile only in a text message (``mentioned_mobile_list``, text at most 2,048
bytes), so when there are members to ring a short text follows the markdown. Limit: 20 messages a minute
per robot (45009 when exceeded); 93000 is an unknown key. Docs: developer.work.weixin.qq.com/document/path/91770.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import re

from chalicelib.common.errors import PlatformError
from chalicelib.common.fetch import Picture
from chalicelib.core.cards import Card
from chalicelib.platforms import http, robot
from chalicelib.platforms.errortable import ErrorTable
from chalicelib.platforms.robot import RobotAdapter, RobotSettings
from chalicelib.platforms.wecom.cards import literal

MARKDOWN_BYTES = 4096
USER_ID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")  # a WeCom userid: nothing that could close the <@…> tag
TEXT_BYTES = 2048
log = logging.getLogger("dutybridge.wecom-robot")
ERRORS = ErrorTable("wecom-robot", throttle=frozenset({"45009"}), retry=frozenset({"-1"}), throttle_delay=60.0)
# Codes from tests/fixtures/robots/README.md.
SETUP = {"93000": "webhook 的 key 无效，机器人可能已被移出群 (the webhook's key is unknown: was the robot removed?)",
         "93004": "机器人已被停用 (the robot is disabled)",
         "40058": "消息超过长度限制 (message over the length limit)"}


class Settings(RobotSettings):
    api_base: str = "https://qyapi.weixin.qq.com"


class WeComRobot(RobotAdapter):
    name = "wecom-robot"
    label = ("企业微信群机器人", "WeCom group robot")
    Settings = Settings
    per_minute = 20
    message_limit = message_room = MARKDOWN_BYTES
    measured = "bytes of markdown.content"
    webhook_help = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=… (群聊 → 群机器人 → 添加机器人)"
    errors, advice = ERRORS, SETUP
    # 消息推送 image message: the picture itself, base64 with its md5, at most 2 MB (before base64), JPG or PNG.
    # Nothing stays on WeCom to refer to later, so a reference lasts only for the delivery that fetched it.
    image_max_bytes = 2 * 1024 * 1024
    image_types = frozenset({"image/png", "image/jpeg"})
    image_lifetime = 0
    _picture: Picture | None = None

    def upload_image(self, picture: Picture) -> str:
        """Kept for the send that follows (the image message goes right after the first message)."""
        self._picture = picture
        return "md5:" + hashlib.md5(picture.data).hexdigest()

    def webhook_prefix(self) -> str:
        return f"{self.settings.api_base.rstrip('/')}/cgi-bin/webhook/send?key="

    def post(self, message: dict) -> None:
        answer = http.call(self.name, "POST", self.credentials.webhook, json=message)
        if (code := self.errcode(answer.data, answer.status)) != "0":
            raise self.refusal(code, str(answer.data.get("errmsg", "")), answer.status)

    def send_card(self, kind: str, target: str, card: Card, card_key: str) -> dict:
        """The markdown, then (when members are to be rung by mobile) the text that rings them."""
        ref = super().send_card(kind, target, card, card_key)
        self._post_picture(card)
        mobiles = [m.mobile for m in card.mentions if m.mobile]
        if mobiles:
            link = self.offered(card).url
            self.post({"msgtype": "text", "text": {
                "content": self.with_keyword(f"请处理 Please respond: {card.title}"[:300] + f"\n{link}"),
                "mentioned_mobile_list": mobiles}})
        return ref

    def _post_picture(self, card: Card) -> None:
        """The card's picture as an image message after the first one. The first message is out, so a refusal
        here must not fail the send (a retry would post it twice): it is logged, and the group has the link."""
        picture = self._picture
        if not card.image or picture is None or card.image != "md5:" + hashlib.md5(picture.data).hexdigest():
            return
        try:
            self.post({"msgtype": "image", "image": {"base64": base64.b64encode(picture.data).decode(),
                                                     "md5": hashlib.md5(picture.data).hexdigest()}})
        except PlatformError as exc:
            log.warning("%s: picture of %s not posted: %s", self.integration_id, card.incident_id, exc.brief())

    def compose(self, card: Card) -> dict:
        calls = " ".join(f"<@{m.user_ids['wecom']}>" for m in card.mentions
                         if USER_ID.fullmatch(m.user_ids.get("wecom", "")))
        title = f"**[{card.severity_zh} {card.severity_en}] {literal(card.title)}**"
        parts = robot.markdown_parts(card, literal, title, lambda label, value: f"> {label}: {value}", "> ")
        parts.append(calls)
        return {"msgtype": "markdown", "markdown": {"content": self.with_keyword("\n".join(p for p in parts if p))}}

    def size(self, message: dict) -> int:
        return len(message["markdown"]["content"].encode())

    def follow_up_message(self, card: Card, change: str) -> dict:
        text = (f"**[{card.status_zh} {card.status_en}] {literal(card.title)}**\n> {literal(change)}\n"
                f"[查看详情 Details]({card.url})")
        return {"msgtype": "markdown", "markdown": {"content": _cut(self.with_keyword(text), MARKDOWN_BYTES)}}


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes, cut on a character boundary (what is cut, the incident page shows)."""
    raw = text.encode()
    return text if len(raw) <= limit else raw[:limit - 3].decode(errors="ignore") + "…"
