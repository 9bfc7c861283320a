"""Feishu 自定义机器人: the group's 设置 → 群机器人 → 添加机器人 → 自定义机器人 step and
``POST /open-apis/bot/v2/hook/{hook}``.

Facts and sources in ``tests/fixtures/robots/README.md`` (Feishu, from the official 自定义机器人使用指南):
签名校验 is Base64(HmacSHA256(key = ``"{timestamp}\\n{secret}"``, message = empty)) with the timestamp in
seconds within an hour (19021); IP 白名单 (19022 Ip Not Allowed); 自定义关键词 over text fields only (19024
Key Words Not Found); 100 a minute and 5 a second per robot (11232 frequency limited); the body at most
20 KB and a malformed body (9499 Bad Request); an unknown hook (19001). Every answer is HTTP 200.
"""
from __future__ import annotations

import re
import secrets
import string
import uuid
from typing import TYPE_CHECKING, Any

from devkit.simulators.control import ControlError
from devkit.simulators.http import Request, Route
from devkit.simulators.robots import (
    Mention,
    Robot,
    RobotRefused,
    Robots,
    RobotWebhook,
    Security,
    Shown,
    hmac_sha256_b64,
    ip_allowed,
    keyword_found,
    new_token,
    robot_console_route,
    security_from,
)

if TYPE_CHECKING:
    from devkit.simulators.feishu.simulator import FeishuSimulator

MAX_BYTES = 20 * 1024
SIGN_TOLERANCE = 3600
MSG_TYPES = ("text", "post", "image", "share_chat", "interactive")
SUCCESS = {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}
AT_TAG = re.compile(r"""<at\s+(?:user_)?id\s*=\s*["']?([\w-]+)["']?\s*>(.*?)</at>""", re.S)


def sign(timestamp: str, secret: str) -> str:
    """签名校验: Base64(HmacSHA256 with ``"{timestamp}\\n{secret}"`` as the key over an empty message)."""
    return hmac_sha256_b64(f"{timestamp}\n{secret}".encode(), b"")


def refusal(code: int, msg: str, reason: str = "") -> RobotRefused:
    return RobotRefused({"code": code, "data": {}, "msg": msg}, reason or msg)


def _secret() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(22))


class FeishuRobots(RobotWebhook):
    """The tenant's custom robots, served under ``/feishu/open-apis/bot/v2/hook/...``."""

    api = "POST /open-apis/bot/v2/hook"
    sent = SUCCESS
    code_field = "code"

    def __init__(self, sim: FeishuSimulator) -> None:
        self.sim = sim
        self.robots = Robots([(100, 60), (5, 1)], lambda hook: f"{sim.api_base}/open-apis/bot/v2/hook/{hook}")
        first = next(iter(sim.directory.groups.values()), None)
        if first is not None:  # the group a person finds a robot in, with 签名校验 on
            hook = str(uuid.UUID(new_token(32, seed="feishu-robot")))
            self.robots.add(Robot(hook, "告警机器人", f"chat:{first.chat_id}", first.name,
                                  Security(secret=new_token(22, seed="feishu-robot-secret")), sim.now()))

    def routes(self) -> list[Route]:
        return [Route("POST", r"/open-apis/bot/v2/hook/(?P<hook>[^/]+)", self.send), robot_console_route(self.add)]

    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        """自定义机器人: name, group, and any of 自定义关键词 (≤ 10), IP 白名单 (≤ 10), 签名校验."""
        sim = self.sim
        security = security_from(body, _secret)
        if len(security.keywords) > 10 or len(security.ips) > 10:
            raise ControlError(400, "at most 10 keywords and 10 IP addresses or ranges")
        with sim.lock:
            groups = sim.directory.groups
            chat_id = str(body.get("group") or next(iter(groups)))
            if chat_id not in groups:
                raise ControlError(404, f"no group {chat_id}")
            return self.robots.add(Robot(str(uuid.uuid4()), str(body.get("name") or "告警机器人"),
                                         f"chat:{chat_id}", groups[chat_id].name, security, sim.now()))

    def _admit(self, request: Request, now: float) -> tuple[Robot, dict[str, Any]]:
        """The checks, in this order: hook, size, JSON, 签名校验, IP, keyword, message type, rate."""
        robot = self.robots.by_token.get(request.params["hook"])
        if robot is None:
            raise refusal(19001, "param invalid: incoming webhook access token invalid")
        self._check_size(len(request.body))
        body = request.json()
        if not isinstance(body, dict):
            raise refusal(9499, "Bad Request", "body is not a JSON object")
        security = robot.security
        if security.secret:
            timestamp = str(body.get("timestamp") or "")
            fresh = timestamp.isdigit() and abs(int(timestamp) - now) <= SIGN_TOLERANCE
            if not fresh or not secrets.compare_digest(str(body.get("sign") or ""), sign(timestamp, security.secret)):
                raise refusal(19021, "sign match fail or timestamp is not within one hour from current time")
        if security.ips and not ip_allowed(request.client, security.ips):
            raise refusal(19022, "Ip Not Allowed")
        self._check_content(security, body)
        if self.robots.over_limit(robot, now):
            raise refusal(11232, "frequency limited", "over 100 a minute or 5 a second")
        return robot, body

    def _message_checks(self, robot: Robot, size: int, body: dict[str, Any]) -> None:
        self._check_size(size)
        self._check_content(robot.security, body)

    @staticmethod
    def _check_size(size: int) -> None:
        if size > MAX_BYTES:
            raise refusal(9499, "Bad Request", f"body of {size} bytes is over 20 KB")

    def _check_content(self, security: Security, body: dict[str, Any]) -> None:
        """The keyword, then the message type and its content."""
        if security.keywords and not keyword_found(self._texts(body), security.keywords):
            raise refusal(19024, "Key Words Not Found")
        content = body.get("card") if body.get("msg_type") == "interactive" else body.get("content")
        if body.get("msg_type") not in MSG_TYPES or not isinstance(content, dict):
            raise refusal(9499, "Bad Request", f"msg_type {body.get('msg_type')!r} or its content missing")

    @staticmethod
    def _texts(body: dict[str, Any]) -> list[str]:
        """Text-valued fields only (``text``, ``title``, ``content``), never ``href`` or ids: the keyword rule."""
        found: list[str] = []

        def walk(value: Any, key: str = "") -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(v, k)
            elif isinstance(value, list):
                for item in value:
                    walk(item, key)
            elif isinstance(value, str) and key in ("text", "title", "content"):
                found.append(value)

        walk(body.get("card") if body.get("msg_type") == "interactive" else body.get("content"))
        return found

    def _shown(self, body: dict[str, Any]) -> Shown:
        msg_type = body["msg_type"]
        content = body.get("content") or {}
        mentions: list[Mention] = []
        title, buttons = "", []
        if msg_type == "text":
            text = self._at_tags(str(content.get("text") or ""), mentions)
        elif msg_type == "post":
            post = content.get("post") or {}
            lang = post.get("zh_cn") or post.get("en_us") or next(iter(post.values()), {})
            title, text = str(lang.get("title") or ""), self._post_text(lang.get("content") or [], mentions)
        elif msg_type == "interactive":
            title, text, buttons = self._card(body["card"], mentions)
        else:
            text = f"[{msg_type}] " + " ".join(str(v) for v in content.values())
        at_all = any(m.id == "all" for m in mentions)
        return Shown(msg_type, text, title, buttons, [m for m in mentions if m.id != "all"], at_all)

    def _name(self, user_id: str) -> str:
        user = next((u for u in self.sim.directory.users.values() if user_id in (u.open_id, u.user_id)), None)
        return user.name if user else user_id

    def _at_tags(self, text: str, mentions: list[Mention]) -> str:
        """``<at user_id="ou_…">name</at>`` (text) and ``<at id=ou_…></at>`` (card lark_md) shown as @name."""
        def replace(match: re.Match[str]) -> str:
            user_id = match.group(1)
            name = "所有人" if user_id == "all" else self._name(user_id)
            mentions.append(Mention("open_id", user_id, name))
            return f"@{name}"
        return AT_TAG.sub(replace, text)

    def _post_text(self, paragraphs: list[Any], mentions: list[Mention]) -> str:
        lines = []
        for paragraph in paragraphs:
            parts = []
            for node in paragraph if isinstance(paragraph, list) else []:
                tag = node.get("tag") if isinstance(node, dict) else None
                if tag == "a":
                    parts.append(f"[{node.get('text', '')}]({node.get('href', '')})")
                elif tag == "at":
                    user_id = str(node.get("user_id") or "")
                    name = "所有人" if user_id == "all" else self._name(user_id)
                    mentions.append(Mention("open_id", user_id, name))
                    parts.append(f"@{name}")
                elif tag in ("text", "md"):
                    parts.append(self._at_tags(str(node.get("text") or ""), mentions))
            lines.append("".join(parts))
        return "\n".join(lines)

    def _card(self, card: dict[str, Any], mentions: list[Mention]) -> tuple[str, str, list[dict[str, str]]]:
        """A card's header, its text elements (lark_md / markdown) and its link buttons (JSON 1.0 and 2.0)."""
        header = card.get("header") or {}
        title = str((header.get("title") or {}).get("content") or "")
        texts: list[str] = []
        buttons: list[dict[str, str]] = []

        def walk(element: Any) -> None:
            if isinstance(element, list):
                for item in element:
                    walk(item)
                return
            if not isinstance(element, dict):
                return
            if element.get("tag") == "button":
                url = element.get("url") or (element.get("multi_url") or {}).get("url") or next(
                    (b.get("default_url") for b in element.get("behaviors") or [] if b.get("type") == "open_url"), "")
                buttons.append({"title": str((element.get("text") or {}).get("content") or ""), "url": str(url)})
                return
            if element.get("tag") in ("markdown", "lark_md", "plain_text") and isinstance(element.get("content"), str):
                texts.append(self._at_tags(element["content"], mentions))
            for key in ("text", "fields", "elements", "actions", "columns", "body"):
                walk(element.get(key))

        walk(card.get("body") or card.get("elements") or card.get("i18n_elements", {}).get("zh_cn"))
        return title, "\n".join(texts), buttons
