"""DingTalk 自定义机器人: the group settings' 智能群助手 → 添加机器人 → 自定义 step and ``POST /robot/send``.

Facts and their sources are in ``tests/fixtures/robots/README.md`` (DingTalk): the URL and 加签
(HmacSHA256, key = secret, message = ``"{timestamp_ms}\\n{secret}"``, Base64, URL-encoded; the timestamp
within an hour of DingTalk's clock), at least one security setting, the five message types and ``at``,
20 messages a minute then a 10-minute block (130101), 20000 bytes (460101), 310000 with its three errmsgs,
and the unknown token (300005). Every answer is HTTP 200.
"""
from __future__ import annotations

import secrets
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
    from devkit.simulators.dingtalk.simulator import DingTalkSimulator

PER_MINUTE, BLOCK_SECONDS = 20, 600
MAX_BYTES = 20000
SIGN_TOLERANCE_MS = 3600 * 1000
MORE = ", more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"
MSGTYPES = ("text", "markdown", "link", "actionCard", "feedCard")


def sign(timestamp_ms: str, secret: str) -> str:
    """The 加签 value before URL-encoding: Base64(HmacSHA256(secret, "{timestamp}\\n{secret}"))."""
    return hmac_sha256_b64(secret.encode(), f"{timestamp_ms}\n{secret}".encode())


def refusal(errcode: int, errmsg: str, reason: str = "") -> RobotRefused:
    return RobotRefused({"errcode": errcode, "errmsg": errmsg}, reason or errmsg)


class DingTalkRobots(RobotWebhook):
    """The org's custom robots; served under ``/dingtalk/oapi/robot/send`` like oapi.dingtalk.com."""

    api = "POST /robot/send"
    sent = {"errcode": 0, "errmsg": "ok"}

    def __init__(self, sim: DingTalkSimulator) -> None:
        self.sim = sim
        self.robots = Robots([(PER_MINUTE, 60)], lambda token: f"{sim.oapi_base}/robot/send?access_token={token}")
        first = next(iter(sim.directory.groups.values()), None)
        if first is not None:  # the group a person finds a robot in: 加签 on, as the console suggests
            self.robots.add(Robot(new_token(seed="dingtalk-robot"), "告警机器人",
                                  f"IM_GROUP.{first.open_conversation_id}", first.title,
                                  Security(secret="SEC" + new_token(seed="dingtalk-robot-secret")), sim.now()))

    def routes(self) -> list[Route]:
        return [Route("POST", r"/oapi/robot/send", self.send), robot_console_route(self.add)]

    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        """自定义机器人: name, group, 安全设置 (at least one of 自定义关键词, 加签, IP 地址(段))."""
        sim = self.sim
        security = security_from(body, lambda: "SEC" + secrets.token_hex(32))
        if not (security.keywords or security.secret or security.ips):
            raise ControlError(400, "安全设置至少选一项 choose at least one security setting")
        with sim.lock:
            groups = sim.directory.groups
            cid = str(body.get("group") or next(iter(groups)))
            if cid not in groups:
                raise ControlError(404, f"no group {cid}")
            return self.robots.add(Robot(new_token(), str(body.get("name") or "告警机器人"), f"IM_GROUP.{cid}",
                                         groups[cid].title, security, sim.now()))

    def _admit(self, request: Request, now: float) -> tuple[Robot, dict[str, Any]]:
        """The checks, in this order: token, size, JSON, 加签, keyword, IP, message type, rate."""
        token = request.query.get("access_token")
        if not token:
            raise refusal(40035, "缺少参数 access_token")
        robot = self.robots.by_token.get(token)
        if robot is None:
            raise refusal(300005, "token is not exist")
        self._check_size(len(request.body))
        body = request.json()
        if not isinstance(body, dict):
            raise refusal(40035, "缺少参数 json", "body is not a JSON object")
        security = robot.security
        if security.secret:
            self._check_sign(request.query, security.secret, now)
        self._check_keyword(security, body)
        if security.ips and not ip_allowed(request.client, security.ips):
            raise refusal(310000, f"ip {request.client} not in whitelist" + MORE)
        self._check_type(body)
        if now < robot.blocked_until:
            raise refusal(130101, "send too fast, exceed 20 times per minute", "blocked for 10 minutes")
        if self.robots.over_limit(robot, now):
            robot.blocked_until = now + BLOCK_SECONDS
            raise refusal(130101, "send too fast, exceed 20 times per minute", "over 20 a minute: blocked")
        return robot, body

    def _message_checks(self, robot: Robot, size: int, body: dict[str, Any]) -> None:
        self._check_size(size)
        self._check_keyword(robot.security, body)
        self._check_type(body)

    @staticmethod
    def _check_size(size: int) -> None:
        if size > MAX_BYTES:
            raise refusal(460101, "message too long, exceed 20000 bytes", f"body of {size} bytes")

    def _check_keyword(self, security: Security, body: dict[str, Any]) -> None:
        if security.keywords and not keyword_found(self._texts(body), security.keywords):
            raise refusal(310000, "keywords not in content" + MORE)

    @staticmethod
    def _check_type(body: dict[str, Any]) -> None:
        if body.get("msgtype") not in MSGTYPES or not isinstance(body.get(body.get("msgtype")), dict):
            raise refusal(400105, "不支持发送的消息类型", f"msgtype {body.get('msgtype')!r} or its object missing")

    @staticmethod
    def _check_sign(query: dict[str, str], secret: str, now: float) -> None:
        timestamp, given = query.get("timestamp", ""), query.get("sign", "")
        if not timestamp.isdigit() or abs(int(timestamp) - now * 1000) > SIGN_TOLERANCE_MS:
            raise refusal(310000, "invalid timestamp" + MORE)
        if not secrets.compare_digest(given.encode(), sign(timestamp, secret).encode()):
            raise refusal(310000, "sign not match" + MORE)

    @staticmethod
    def _texts(body: dict[str, Any]) -> list[str]:
        """The text the keyword must be in: titles and texts, never URLs."""
        part = body.get(str(body.get("msgtype"))) or {}
        if not isinstance(part, dict):
            return []
        texts = [str(part.get(key) or "") for key in ("content", "title", "text", "singleTitle")]
        for item in (part.get("btns") or []) + (part.get("links") or []):
            if isinstance(item, dict):
                texts.append(str(item.get("title") or ""))
        return texts

    def _shown(self, body: dict[str, Any]) -> Shown:
        msgtype = body["msgtype"]
        part = body[msgtype]
        at = body.get("at") if isinstance(body.get("at"), dict) else {}
        buttons: list[dict[str, str]] = []
        if msgtype == "text":
            title, text = "", str(part.get("content") or "")
        elif msgtype == "link":
            title, text = str(part.get("title") or ""), str(part.get("text") or "")
            buttons = [{"title": "打开链接 Open link", "url": str(part.get("messageUrl") or "")}]
        elif msgtype == "feedCard":
            title, text = "", ""
            buttons = [{"title": str(link.get("title") or ""), "url": str(link.get("messageURL") or "")}
                       for link in part.get("links") or [] if isinstance(link, dict)]
        else:  # markdown, actionCard
            title, text = str(part.get("title") or ""), str(part.get("text") or "")
            if part.get("singleTitle"):
                buttons = [{"title": str(part["singleTitle"]), "url": str(part.get("singleURL") or "")}]
            buttons += [{"title": str(b.get("title") or ""), "url": str(b.get("actionURL") or "")}
                        for b in part.get("btns") or [] if isinstance(b, dict)]
        return Shown(msgtype, text, title, buttons, self._mentions(at), at.get("isAtAll") is True)

    def _mentions(self, at: dict[str, Any]) -> list[Mention]:
        """``at.atMobiles`` and ``at.atUserIds``, named from the org's directory."""
        users = self.sim.directory.users.values()
        mentions = []
        for mobile in at.get("atMobiles") or []:
            user = self.sim.directory.user_by_mobile(str(mobile))
            mentions.append(Mention("mobile", str(mobile), user.name if user else str(mobile)))
        for userid in at.get("atUserIds") or []:
            user = next((u for u in users if u.userid == str(userid)), None)
            mentions.append(Mention("userId", str(userid), user.name if user else str(userid)))
        return mentions
