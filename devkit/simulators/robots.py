"""Custom group robots (DingTalk 自定义机器人, Feishu 自定义机器人, WeCom 群机器人): what the three share.

A robot lives in one group, is reached by a webhook URL that carries its token, and posts what it is sent
into that group. Each platform package's ``robot.py`` owns its facts (URL shape, signature, codes, limits,
message types, how mentions are written); this module holds the bookkeeping they have in common: the
robots, the security settings a console offers, the IP allow-list match, the keyword search, the rate
windows and the messages as the group sees them. Sources: ``tests/fixtures/robots/README.md``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from devkit.simulators import ratelimit
from devkit.simulators.control import ControlError, control_post
from devkit.simulators.http import Request, Response, Route, json_response
from devkit.simulators.previews import PreviewRefused, Submitted, wire_size


def hmac_sha256_b64(key: bytes, message: bytes) -> str:
    """Base64 of an HMAC-SHA256 (both DingTalk and Feishu sign so, with different keys and messages)."""
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def ip_allowed(client: str, allowed: list[str]) -> bool:
    """Whether ``client`` matches the allow-list: addresses, CIDR ranges or ``123.12.1.*`` wildcards."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    for pattern in allowed:
        if "*" in pattern:
            pattern = ".".join("0" if part == "*" else part for part in pattern.split(".")) + \
                f"/{8 * pattern.split('.').index('*')}"
        try:
            if address in ipaddress.ip_network(pattern, strict=False):
                return True
        except ValueError:
            continue
    return False


def keyword_found(texts: list[str], keywords: list[str]) -> bool:
    """At least one keyword appears in the message's text fields (links and ids do not count)."""
    joined = "\n".join(texts)
    return any(keyword in joined for keyword in keywords)


@dataclass
class Security:
    """The console's 安全设置: custom keywords, the signing secret, the IP allow-list (each optional)."""

    keywords: list[str] = field(default_factory=list)
    secret: str = ""
    ips: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {"keywords": list(self.keywords), "secret": self.secret, "ips": list(self.ips)}


@dataclass
class Mention:
    by: str  # "mobile", "userId", "open_id"
    id: str
    name: str  # the member's name, or the id when nobody in the group has it

    def public(self) -> dict[str, str]:
        return {"by": self.by, "id": self.id, "name": self.name}


@dataclass
class Shown:
    """A message as the group sees it: its title, its text (Markdown the page renders), link buttons, who
    it @'s (their phones ring) and whether it @'s everyone."""

    msgtype: str
    text: str
    title: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)  # {"title", "url"}
    mentions: list[Mention] = field(default_factory=list)
    at_all: bool = False


@dataclass
class Robot:
    token: str  # what the webhook URL carries: access_token, hook id or key
    name: str
    chat_key: str  # the group's key on the simulator page
    chat_title: str
    security: Security
    created_at: float
    blocked_until: float = 0.0
    messages: list[dict[str, Any]] = field(default_factory=list)

    def public(self, webhook: str) -> dict[str, Any]:
        return {"token": self.token, "name": self.name, "chatKey": self.chat_key, "chatTitle": self.chat_title,
                "webhook": webhook, "security": self.security.public(), "createdAt": self.created_at,
                "blockedUntil": self.blocked_until, "messages": list(self.messages)}


class RobotRefused(Exception):
    """A webhook call the platform refuses: ``answer`` is the platform's own body (HTTP 200 on all three)."""

    def __init__(self, answer: dict[str, Any], reason: str) -> None:
        super().__init__(reason)
        self.answer, self.reason = answer, reason


class Robots:
    """The robots of one simulated platform and their rate windows; callers hold the simulator lock."""

    def __init__(self, windows: list[tuple[int, int]], webhook_of: Callable[[str], str]) -> None:
        self.by_token: dict[str, Robot] = {}
        # Platforms do not say whether robot limits count fixed or sliding windows: RATE_WINDOWS picks
        self.windows = [ratelimit.window(limit, seconds) for limit, seconds in windows]
        self.webhook_of = webhook_of  # token -> the full webhook URL (the simulator's address is known once served)

    def add(self, robot: Robot) -> dict[str, Any]:
        """Keep ``robot``; answers what the console shows: the webhook URL, the secret (None without 加签)."""
        self.by_token[robot.token] = robot
        view = robot.public(self.webhook_of(robot.token))
        return {"webhook": view["webhook"], "secret": robot.security.secret or None, "robot": view}

    def over_limit(self, robot: Robot, now: float) -> bool:
        """Count one send against every window; True when any of them is over its limit."""
        over = False
        for window in self.windows:  # every window counts the send, even once one is over
            over = window.hit(robot.token, now) or over
        return over

    def record(self, robot: Robot, shown: Shown, body: dict[str, Any], now: float) -> dict[str, Any]:
        message = message_view(shown, body, now)
        robot.messages.append(message)
        return message

    def public(self) -> list[dict[str, Any]]:
        return [robot.public(self.webhook_of(robot.token)) for robot in self.by_token.values()]


def message_view(shown: Shown, body: dict[str, Any], now: float) -> dict[str, Any]:
    """A message as the page shows it in the group."""
    return {"at": now, "msgtype": shown.msgtype, "title": shown.title, "text": shown.text,
            "buttons": shown.buttons, "mentions": [m.public() for m in shown.mentions],
            "atAll": shown.at_all, "body": body}


def new_token(hex_chars: int = 64, seed: str = "") -> str:
    """A random token, or with ``seed`` a stable one (the robot a simulator starts with keeps its URL)."""
    if seed:
        return hashlib.sha256(seed.encode()).hexdigest()[:hex_chars]
    return secrets.token_hex(hex_chars // 2)


def security_from(body: dict[str, Any], secret: Callable[[], str]) -> Security:
    """The console form's security settings: ``keywords`` (list), ``sign`` (bool: make a secret), ``ips``."""
    keywords, ips = body.get("keywords") or [], body.get("ips") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k.strip() for k in keywords):
        raise ControlError(400, "keywords must be a list of non-empty strings")
    if not isinstance(ips, list) or not all(isinstance(ip, str) and ip.strip() for ip in ips):
        raise ControlError(400, "ips must be a list of addresses or ranges")
    return Security([k.strip() for k in keywords], secret() if body.get("sign") else "", [ip.strip() for ip in ips])


def integration_body(platform: str, title: str, state: dict[str, Any], **bases: str) -> dict[str, Any]:
    """The POST /integrations body for the first robot of a simulator's ``/_sim/state``: its webhook, its 加签
    secret when it has one, its keyword when it requires one (the first of them), and the platform's API
    base setting (``bases``) that the simulator stands in for."""
    robot = state["robots"][0]
    security = robot["security"]
    credentials = {"webhook": robot["webhook"], **({"secret": security["secret"]} if security["secret"] else {})}
    settings = {**bases, **({"keyword": security["keywords"][0]} if security["keywords"] else {})}
    return {"platform": platform, "name": f"{title} · {robot['chatTitle']} (simulator)", "credentials": credentials,
            "settings": settings}


def robot_console_route(add: Callable[[dict[str, Any]], dict[str, Any]]) -> Route:
    """``POST _sim/console/robots {group, name, keywords?, sign?, ips?}``: the group settings' 添加机器人 →
    自定义 step; answers the full webhook URL and the secret when 加签 was chosen."""
    def run(_request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, **add(body)}

    return control_post(r"/_sim/console/robots", run)


class RobotWebhook:
    """A platform's robot webhook: the platform's checks (``_admit``) and message reading (``_shown``), the
    bookkeeping every platform shares (record what the group sees, log and answer a refusal)."""

    api: ClassVar[str]  # how the rejection log names the call
    sent: ClassVar[dict[str, Any]]  # the platform's answer to a message it took
    code_field: ClassVar[str] = "errcode"  # where its answers carry the code
    sim: Any
    robots: Robots

    def _admit(self, request: Request, now: float) -> tuple[Robot, dict[str, Any]]:
        raise NotImplementedError

    def _shown(self, body: dict[str, Any]) -> Shown:
        raise NotImplementedError

    def _message_checks(self, robot: Robot, size: int, body: dict[str, Any]) -> None:
        """The checks ``_admit`` runs on the message itself (size, keyword, type), not on the call."""
        raise NotImplementedError

    def preview(self, preview: Submitted) -> dict[str, Any]:
        """A previewed message checked as the robot's webhook checks a message (the robot named, else the
        first: its keyword applies), and shown as its group would see it; nothing is posted."""
        robots = self.robots.by_token
        robot = robots.get(preview.robot) if preview.robot else next(iter(robots.values()), None)
        if robot is None:
            raise ControlError(404, f"no robot {preview.robot or ''} on this simulator")
        try:
            self._message_checks(robot, wire_size(preview.payload), preview.payload)
        except RobotRefused as refused:
            answer = refused.answer
            message = str(answer.get("msg") or answer.get("errmsg") or refused.reason)
            raise PreviewRefused(str(answer[self.code_field]), message, answer, refused.reason) from refused
        view = robot.public(self.robots.webhook_of(robot.token))
        return {"kind": "robot", "robot": {**view, "messages": []},
                "message": message_view(self._shown(preview.payload), preview.payload, self.sim.now())}

    def send(self, request: Request) -> Response:
        sim = self.sim
        with sim.lock:
            try:
                robot, body = self._admit(request, sim.now())
                self.robots.record(robot, self._shown(body), body, sim.now())
                return json_response(200, self.sent)
            except RobotRefused as refused:
                sim.log("rejection", {"at": sim.now(), "api": self.api, "status": 200,
                                      "code": str(refused.answer[self.code_field]), "reason": refused.reason})
                return json_response(200, refused.answer)
