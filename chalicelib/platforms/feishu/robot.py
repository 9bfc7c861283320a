"""Feishu custom bot (自定义机器人): an interactive card with link buttons into one group.

Webhook: ``https://open.feishu.cn/open-apis/bot/v2/hook/<id>``; 签名校验 adds ``timestamp`` (seconds) and
``sign`` = Base64 HmacSHA256 keyed with "timestamp\\nsecret" over an empty message to the body. Custom bots
send cards without callbacks, so the buttons are links. @: ``<at id=open_id></at>`` in the card's
lark_md, for members linked on a Feishu app (the open_id they signed in with). Limits: 100 a minute and
5 a second per bot; a request body of at most 20 KB. Answers ``{"code": 0, "msg": "success"}`` (older
bots ``StatusCode``); 19021 sign, 19022 IP, 19024 keyword refusals are setup errors, 11232 is too fast.
Docs: open.feishu.cn/document/client-docs/bot-v3/add-custom-bot.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from chalicelib.common import clock
from chalicelib.core.cards import Card
from chalicelib.platforms import http, robot
from chalicelib.platforms.errortable import ErrorTable
from chalicelib.platforms.feishu.cards import TEMPLATE, at_tags, literal
from chalicelib.platforms.robot import RobotAdapter, RobotSettings

MAX_BYTES = 20 * 1024
ERRORS = ErrorTable("feishu-robot", throttle=frozenset({"11232"}), throttle_delay=1.0)
# Codes from tests/fixtures/robots/README.md. 9499 "Bad Request" is also how an oversized body is refused;
# the same code with "too many request" has been seen for throttling and is read as such.
SETUP = {"19021": "签名校验失败：检查 secret 与服务器时间 (sign refused: check the secret and the server's clock)",
         "19022": "IP 不在机器人白名单内 (this server's IP is not on the bot's allow-list)",
         "19024": "消息缺少自定义关键词：检查 keyword 设置 (the message lacks the bot's keyword: check the keyword "
                  "setting)",
         "19001": "webhook 无效，机器人可能已被移除 (the webhook is unknown: was the bot removed?)"}
THROTTLED = "11232"


class Settings(RobotSettings):
    api_base: str = "https://open.feishu.cn"


class FeishuRobot(RobotAdapter):
    name = "feishu-robot"
    label = ("飞书群机器人", "Feishu group bot")
    Settings = Settings
    per_minute = 100
    message_limit = MAX_BYTES
    message_room = MAX_BYTES - 512  # what our JSON measures may differ from Feishu's count: a margin
    per_second = 5
    webhook_help = "https://open.feishu.cn/open-apis/bot/v2/hook/… (群设置 → 群机器人 → 添加机器人 → 自定义机器人)"
    errors, advice = ERRORS, SETUP
    # A custom bot has no token to upload with, and a card's img element takes only an image_key an app
    # uploaded (add-custom-bot: images need img_key), so its cards carry no picture.
    image_refusal = ("飞书自定义机器人不能上传图片，卡片不带图 (a Feishu custom bot cannot upload pictures: an img_key "
                     "needs an app; connect a Feishu app to show them)")

    def webhook_prefix(self) -> str:
        return f"{self.settings.api_base.rstrip('/')}/open-apis/bot/v2/hook/"

    def post(self, message: dict) -> None:
        if secret := self.credentials.secret:
            stamp = str(int(clock.now()))
            signed = hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
            message = {"timestamp": stamp, "sign": base64.b64encode(signed).decode(), **message}
        answer = http.call(self.name, "POST", self.credentials.webhook, json=message)
        code = str(answer.data.get("code", answer.data.get("StatusCode", f"http{answer.status}")))
        if code != "0":
            text = str(answer.data.get("msg", answer.data.get("StatusMessage", "")))
            code = THROTTLED if code == "9499" and "too many" in text.lower() else code
            raise self.refusal(code, text, answer.status)

    def compose(self, card: Card) -> dict:
        facts = "\n".join(f"**{literal(label)}**: {literal(value)}" if label else literal(value)
                          for label, value in robot.lines(card))
        blocks = [facts]
        if card.alert_count:
            blocks.append(f"**{literal(card.alert_count)}**\n" + "\n".join(
                literal(line) for line in robot.alert_lines(card)))
        if card.more:
            blocks.append(f"[{card.more}]({card.url})")
        if card.description:
            blocks.append(literal(card.description))
        if calls := at_tags(card):
            blocks.append(calls)
        return self._card(card, f"[{card.severity_zh} {card.severity_en}] {card.title}",
                          TEMPLATE[card.severity] if card.status != "resolved" else "green", blocks)

    def follow_up_message(self, card: Card, change: str) -> dict:
        color = "green" if card.status == "resolved" else "grey"
        return self._card(card, f"[{card.status_zh} {card.status_en}] {card.title}", color, [literal(change)])

    def _card(self, card: Card, title: str, color: str, blocks: list[str]) -> dict:
        text = self.with_keyword("\n\n".join(blocks))
        details = {"tag": "button", "type": "primary", "url": card.url,
                   "text": {"tag": "plain_text", "content": "查看详情 Details"}}
        return {"msg_type": "interactive", "card": {
            "config": {"wide_screen_mode": True},
            "header": {"template": color, "title": {"tag": "plain_text", "content": title[:200]}},
            "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": text}},
                         {"tag": "action", "actions": [details]}]}}
