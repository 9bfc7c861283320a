"""``POST /<platform>/_sim/preview``: a card dutybridge's preview endpoint built, checked the way the platform's
API would check that request body, and kept (the last few) for the page's "预览 Preview" conversation.

Nothing is delivered: the simulator runs its own checks on the payload (the ones its real endpoint runs on a
body), answers the platform's code and message when the platform would refuse it, and otherwise keeps the
card as the page shows it, with what the preview said about it (size against the limit, what was cut).
Checks about the call rather than the body (tokens, signatures, recipients, rate limits) are not run.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from devkit.simulators.control import ControlError
from devkit.simulators.http import Request, Response, Route, json_response

KEEP = 10  # previews the page keeps
REFUSED_STATUS = 422  # a control route's status for "the platform would refuse this body"


class PreviewRefused(Exception):
    """The platform's refusal of the payload: its code, its message and the body its API would answer, and
    why the simulator refused (what the platform's message does not say, e.g. which field)."""

    def __init__(self, code: str, message: str, answer: dict[str, Any], reason: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.answer, self.reason = code, message, answer, reason or message


@dataclass
class Submitted:
    """A preview as posted: the payload, which of the platform's integrations it is for, and what the
    preview endpoint said about it (absent when only the payload was posted)."""

    payload: dict[str, Any]
    platform: str  # "feishu", "feishu-robot", …; with only the payload posted, "robot" or "" (the app)
    to: str
    robot: str  # for a robot: the token of the simulator's robot whose settings apply ("": the first)
    answer: dict[str, Any]

    @property
    def for_robot(self) -> bool:
        return self.platform == "robot" or self.platform.endswith("-robot")


def wire_size(payload: dict[str, Any]) -> int:
    """Bytes of the body as dutybridge sends it (compact JSON, UTF-8: chalicelib/platforms/http.py)."""
    return len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())


def submitted(body: dict[str, Any], looks_like_robot: Callable[[dict[str, Any]], bool]) -> Submitted:
    """The preview endpoint's answer, or just its payload; without ``platform`` the payload's shape says
    whether it is a robot's message (``looks_like_robot``)."""
    payload = body.get("payload") if "payload" in body else body
    if not isinstance(payload, dict) or not payload:
        raise ControlError(400, "post the preview answer ({payload, size, cut, more, …}) or its payload object")
    answer = body if "payload" in body else {}
    platform = str(answer.get("platform") or "")
    if not platform and looks_like_robot(payload):
        platform = "robot"
    return Submitted(payload, platform, str(answer.get("to") or ""), str(body.get("robot") or ""), answer)


class Previews:
    """The kept previews of one simulator; ``check`` runs the platform's checks and answers what the page
    renders (raising ``PreviewRefused``)."""

    def __init__(self, lock: Any, now: Callable[[], float],
                 looks_like_robot: Callable[[dict[str, Any]], bool],
                 check: Callable[[Submitted], dict[str, Any]]) -> None:
        self.lock, self.now, self.looks_like_robot, self.check = lock, now, looks_like_robot, check
        self.kept: list[dict[str, Any]] = []

    def public(self) -> list[dict[str, Any]]:
        return list(self.kept)

    def routes(self) -> list[Route]:
        return [Route("POST", r"/_sim/preview", self.take)]

    def take(self, request: Request) -> Response:
        body = request.json()
        try:
            preview = submitted(body if isinstance(body, dict) else {}, self.looks_like_robot)
            with self.lock:
                shown = self.check(preview)
                entry = {"at": self.now(), "platform": preview.platform, "to": preview.to, "shown": shown,
                         "bytes": wire_size(preview.payload), **{key: preview.answer.get(key) for key in (
                             "size", "more", "cut", "template_error")}}
                self.kept.append(entry)
                del self.kept[:-KEEP]
        except ControlError as exc:
            return json_response(exc.status, {"ok": False, "error": exc.error})
        except PreviewRefused as refused:
            return json_response(REFUSED_STATUS, {"ok": False, "code": refused.code, "error": refused.message,
                                                  "reason": refused.reason, "answer": refused.answer})
        return json_response(200, {"ok": True, "preview": entry})
