"""WeCom 群机器人 (now 消息推送): a member's 添加群机器人 → 新创建一个机器人 step in an internal group and
``POST /cgi-bin/webhook/send?key=...``.

Facts and sources in ``tests/fixtures/robots/README.md`` (WeCom): the key is the only secret (no
signature, keyword or IP settings); text ≤ 2048 bytes with ``mentioned_list`` / ``mentioned_mobile_list``,
markdown ≤ 4096 bytes with ``<@userid>``, template_card (text_notice, news_notice), image, news, file;
too long → 40058 "<type>.content exceed max length N"; an unknown key → 93000; a bad msgtype → 40008;
20 messages a minute per robot → 45009. Every answer is HTTP 200. An image is its base64 and md5, at most
2 MB before base64, JPG or PNG: the global table's 40009 (image size) and 40005 (file type) refuse the rest,
a base64 or md5 that does not hold is refused as a bad parameter (40058; the robot page names no code).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from devkit.simulators.http import Request, Route
from devkit.simulators.media import media_url, sniff
from devkit.simulators.robots import (
    Mention,
    Robot,
    RobotRefused,
    Robots,
    RobotWebhook,
    Security,
    Shown,
    new_token,
    robot_console_route,
)

if TYPE_CHECKING:
    from devkit.simulators.wecom.simulator import WeComSimulator

PER_MINUTE = 20
MAX_BYTES = {"text": 2048, "markdown": 4096}
MSGTYPES = ("text", "markdown", "image", "news", "file", "template_card")
CARD_TYPES = ("text_notice", "news_notice")
IMAGE_FORMATS, IMAGE_MAX_BYTES = ("jpg", "png"), 2 * 1024 * 1024
MENTION = re.compile(r"<@([\w.@-]+)>")
DEFAULT_GROUP = "运维告警群"


def refusal(errcode: int, errmsg: str, reason: str = "") -> RobotRefused:
    hint = f", hint: [{secrets.token_hex(12)}], more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}"
    return RobotRefused({"errcode": errcode, "errmsg": errmsg + hint}, reason or errmsg)


class WeComRobots(RobotWebhook):
    """The corp's group robots, served under ``/wecom/cgi-bin/webhook/send``."""

    api = "POST /cgi-bin/webhook/send"
    sent = {"errcode": 0, "errmsg": "ok"}

    def __init__(self, sim: WeComSimulator) -> None:
        self.sim = sim
        self.robots = Robots([(PER_MINUTE, 60)], lambda key: f"{sim.api_base}/cgi-bin/webhook/send?key={key}")
        self.robots.add(Robot(str(uuid.UUID(new_token(32, seed="wecom-robot"))), "告警机器人",
                              f"robot-group:{DEFAULT_GROUP}", DEFAULT_GROUP, Security(), sim.now()))

    def routes(self) -> list[Route]:
        return [Route("POST", r"/cgi-bin/webhook/send", self.send), robot_console_route(self.add)]

    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        """添加群机器人 in an internal group (named by ``group``): the answer is its webhook URL, no secret."""
        title = str(body.get("group") or DEFAULT_GROUP)
        with self.sim.lock:
            return self.robots.add(Robot(str(uuid.uuid4()), str(body.get("name") or "告警机器人"),
                                         f"robot-group:{title}", title, Security(), self.sim.now()))

    def _admit(self, request: Request, now: float) -> tuple[Robot, dict[str, Any]]:
        """The checks, in this order: key, JSON, msgtype, content size, rate."""
        robot = self.robots.by_token.get(request.query.get("key", ""))
        if robot is None:
            raise refusal(93000, "invalid webhook url")
        body = request.json()
        if not isinstance(body, dict):
            raise refusal(40058, "Warning: wrong json format. invalid Request Parameter", "body is not JSON")
        self._message_checks(robot, len(request.body), body)
        if self.robots.over_limit(robot, now):
            raise refusal(45009, "api freq out of limit", "over 20 a minute")
        return robot, body

    def _message_checks(self, robot: Robot, size: int, body: dict[str, Any]) -> None:
        """The message type, then its content's size (WeCom has no keyword and counts only the content)."""
        msgtype = body.get("msgtype")
        part = body.get(str(msgtype))
        if msgtype not in MSGTYPES or not isinstance(part, dict):
            raise refusal(40008, "invalid message type", f"msgtype {msgtype!r} or its object missing")
        if msgtype == "template_card" and part.get("card_type") not in CARD_TYPES:
            raise refusal(40058, "template_card.card_type invalid. invalid Request Parameter")
        if msgtype == "image":
            _check_image(part)
        limit = MAX_BYTES.get(str(msgtype))
        if limit and len(str(part.get("content") or "").encode()) > limit:
            raise refusal(40058, f"{msgtype}.content exceed max length {limit}. invalid Request Parameter")

    def _shown(self, body: dict[str, Any]) -> Shown:
        msgtype = body["msgtype"]
        part = body[msgtype]
        mentions: list[Mention] = []
        title, text, buttons = "", "", []
        if msgtype == "text":
            text = str(part.get("content") or "")
            mentions += [self._mention("userid", str(u)) for u in part.get("mentioned_list") or [] if u != "@all"]
            mentions += [self._mention("mobile", str(m)) for m in part.get("mentioned_mobile_list") or []
                         if m != "@all"]
        elif msgtype == "markdown":
            def replace(match: re.Match[str]) -> str:
                mentions.append(self._mention("userid", match.group(1)))
                return f"@{mentions[-1].name}"
            text = MENTION.sub(replace, str(part.get("content") or ""))
        elif msgtype == "template_card":
            title, text, buttons = self._card(part)
        elif msgtype == "image":
            text = self._picture(part)
        elif msgtype == "news":
            buttons = [{"title": str(a.get("title") or ""), "url": str(a.get("url") or "")}
                       for a in part.get("articles") or [] if isinstance(a, dict)]
        else:
            text = f"[{msgtype}]"
        at_all = "@all" in (part.get("mentioned_list") or []) + (part.get("mentioned_mobile_list") or [])
        return Shown(msgtype, text, title, buttons, mentions, at_all)

    def _picture(self, part: dict[str, Any]) -> str:
        """The image as the group sees it (kept, and served back for the page); the recorded body keeps only its
        size, not megabytes of base64."""
        data = base64.b64decode(part["base64"])
        stored = self.sim.media.put(data, str(sniff(data)), self.sim.now())
        part["base64"] = f"<{len(data)} bytes>"
        return f"![图片 Picture]({media_url(self.sim.mounted(), stored.ref)})"

    def _mention(self, by: str, key: str) -> Mention:
        users = self.sim.directory.users.values()
        user = next((u for u in users if key == (u.userid if by == "userid" else u.mobile)), None)
        return Mention("userId" if by == "userid" else "mobile", key, user.name if user else key)

    @staticmethod
    def _card(card: dict[str, Any]) -> tuple[str, str, list[dict[str, str]]]:
        """A text_notice / news_notice as the group sees it: title, desc, the big number, the key-value rows,
        the jump links; the whole card opens ``card_action.url``."""
        main = card.get("main_title") or {}
        lines = [str(main.get("desc") or "")]
        emphasis = card.get("emphasis_content") or {}
        if emphasis.get("title"):
            lines.append(f"**{emphasis['title']}** {emphasis.get('desc', '')}")
        lines.append(str(card.get("sub_title_text") or ""))
        rows = card.get("horizontal_content_list") or []
        lines += [f"{row.get('keyname', '')}: {row.get('value', '')}" for row in rows if isinstance(row, dict)]
        buttons = [{"title": str(j.get("title") or ""), "url": str(j.get("url") or "")}
                   for j in card.get("jump_list") or [] if isinstance(j, dict)]
        action = card.get("card_action") or {}
        if action.get("url"):
            buttons.append({"title": "查看详情 Open", "url": str(action["url"])})
        return str(main.get("title") or ""), "\n".join(line for line in lines if line), buttons


def _check_image(part: dict[str, Any]) -> None:
    try:
        data = base64.b64decode(str(part.get("base64") or ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise refusal(40058, "image.base64 invalid. invalid Request Parameter") from exc
    if hashlib.md5(data).hexdigest() != str(part.get("md5") or "").lower():
        raise refusal(40058, "image.md5 not match. invalid Request Parameter")
    if len(data) > IMAGE_MAX_BYTES:
        raise refusal(40009, "invalid image size", f"{len(data)} bytes, over 2 MB")
    if sniff(data) not in IMAGE_FORMATS:
        raise refusal(40005, "invalid file type", "an image message takes JPG or PNG")
