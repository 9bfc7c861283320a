"""DingTalk custom robot (自定义机器人, seed 004): markdown messages into one group through its webhook.

Webhook: ``https://oapi.dingtalk.com/robot/send?access_token=…``; 加签 appends ``timestamp`` (ms) and
``sign`` = URL-encoded Base64 HmacSHA256(key = secret, message = "timestamp\\nsecret"). 自定义关键词: every
message must carry the keyword. @: ``at.atMobiles`` / ``at.atUserIds``, and the text names each one as
``@<mobile or userId>`` so DingTalk shows (and rings) it. Limits: 20 messages a minute per robot, over
which it answers 130101 (410100 in the newer table) and stays blocked for 10 minutes; a message of at
most 20,000 bytes (460101).
310000 is a security refusal (keyword, sign or IP allow-list): a setup error, said with what to fix.
Docs: open.dingtalk.com/document/orgapp/custom-robot-access, …/customize-robot-security-settings.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus

from chalicelib.common import clock
from chalicelib.common.errors import NotConfigured
from chalicelib.common.fetch import ABSOLUTE_MAX_BYTES, Picture
from chalicelib.core.cards import Card
from chalicelib.platforms import http, robot
from chalicelib.platforms.errortable import ErrorTable
from chalicelib.platforms.robot import RobotAdapter, RobotSettings

MAX_BYTES = 20_000
BLOCK_SECONDS = 600  # 130101: the robot stays blocked for 10 minutes
# Seed 004 also lists 90018 (机器人发送消息过于频繁) and 88004 (a DingTalk server error, retried).
ERRORS = ErrorTable("dingtalk-robot", throttle=frozenset({"130101", "410100", "90018"}),
                    retry=frozenset({"-1", "88004"}), throttle_delay=BLOCK_SECONDS)
GONE = ("webhook 的 access_token 无效，或机器人已停用、已移除 (the webhook's access_token is unknown, or the robot "
        "was disabled or removed: add it again and save the new webhook)")
# Codes from tests/fixtures/robots/README.md: 310000 security refusals, 300005 and the 4001xx family for
# a token that is gone, 460101 a message over 20,000 bytes.
SETUP = {"310000": "检查机器人安全设置：自定义关键词、加签 secret、IP 地址段 (check the robot's security settings: "
                   "the keyword setting, the 加签 secret, the IP allow-list)",
         "300005": GONE, "400101": GONE, "400102": GONE, "400106": GONE,
         "460101": "消息超过 20000 字节 (message over 20,000 bytes)"}


# The robot's markdown is DingTalk's own small subset, whose backslash escapes are not documented: what a
# producer wrote is shown as written by putting full-width look-alikes in place of the signs that open markup.
PLAIN = str.maketrans({"[": "［", "]": "］", "*": "＊", "_": "＿", "`": "｀", "<": "＜", ">": "＞", "#": "＃",
                       "!": "！", "|": "｜", "\n": " ", "\r": " "})


def literal(text: str) -> str:
    return text.translate(PLAIN)


class Settings(RobotSettings):
    oapi_base: str = "https://oapi.dingtalk.com"


class DingTalkRobot(RobotAdapter):
    name = "dingtalk-robot"
    label = ("钉钉群机器人", "DingTalk group robot")
    Settings = Settings
    per_minute = 20
    message_limit = MAX_BYTES
    message_room = MAX_BYTES - 1000  # what our JSON measures may differ from DingTalk's count: a margin
    webhook_help = "https://oapi.dingtalk.com/robot/send?access_token=… (群设置 → 智能群助手 → 机器人 → Webhook)"
    errors, advice = ERRORS, SETUP
    # A robot cannot upload: its markdown's ![](url) is fetched by DingTalk's servers (custom-robot-access,
    # markdown 图片), so only a picture on a public address can show; no size of its own is documented.
    image_max_bytes = ABSOLUTE_MAX_BYTES
    image_types = frozenset({"image/png", "image/jpeg", "image/gif"})

    def upload_image(self, picture: Picture) -> str:
        """Nothing to upload: the picture's own address, once it proved a public image."""
        if not picture.public:
            raise NotConfigured("钉钉群机器人只能显示公网图片 (a DingTalk robot shows only pictures on a public "
                                "address: DingTalk's servers fetch them)")
        return picture.url

    def webhook_prefix(self) -> str:
        return f"{self.settings.oapi_base.rstrip('/')}/robot/send?access_token="

    def post(self, message: dict) -> None:
        url = self.credentials.webhook
        if secret := self.credentials.secret:
            stamp = str(int(clock.now() * 1000))
            digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
            url += f"&timestamp={stamp}&sign={quote_plus(base64.b64encode(digest).decode())}"
        answer = http.call(self.name, "POST", url, json=message)
        if (code := self.errcode(answer.data, answer.status)) != "0":
            raise self.refusal(code, str(answer.data.get("errmsg", "")), answer.status)

    def compose(self, card: Card) -> dict:
        mobiles = [m.mobile for m in card.mentions if m.mobile]
        user_ids = [m.user_ids["dingtalk"] for m in card.mentions if not m.mobile and "dingtalk" in m.user_ids]
        title = f"#### [{card.severity_zh} {card.severity_en}] {literal(card.title)}"
        parts = robot.markdown_parts(card, literal, title, lambda label, value: f"- **{label}**: {value}", "- ")
        parts.insert(2, picture_markdown(card))  # after the title and the facts
        parts.append(" ".join(f"@{who}" for who in mobiles + user_ids))
        text = self.with_keyword("\n\n".join(p for p in parts if p))
        return {"msgtype": "markdown",
                "markdown": {"title": f"[{card.severity_zh}] {card.title}"[:100], "text": text},
                "at": {"atMobiles": mobiles, "atUserIds": user_ids, "isAtAll": False}}

    def follow_up_message(self, card: Card, change: str) -> dict:
        text = (f"#### [{card.status_zh} {card.status_en}] {literal(card.title)}\n\n{literal(change)}\n\n"
                f"[查看详情 Details]({card.url})")
        return {"msgtype": "markdown", "markdown": {"title": f"[{card.status_zh}] {card.title}"[:100],
                                                    "text": self.with_keyword(text)}}


def picture_markdown(card: Card) -> str:
    """The card's picture as markdown DingTalk fetches and shows; "" without one. Brackets and spaces in the
    address are percent-encoded so that they cannot end the link early."""
    if not card.image:
        return ""
    address = card.image.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"![图片 Picture]({address})"
