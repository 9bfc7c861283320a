"""Silences in an Alertmanager-compatible API: Alertmanager's own, or Grafana's under its own prefix.

Called while a person waits for their click's answer (the platforms allow about 3 seconds), so every
call has a short timeout; what went wrong is said in words a person can act on, never with the
credentials or the whole answer.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from urllib.parse import quote

import requests

from chalicelib.common import clock
from chalicelib.common.errors import AppError

log = logging.getLogger("dutybridge.silences")
TIMEOUT = (1.5, 2.0)  # connect, read: a click's answer cannot wait longer
_session = requests.Session()


class SilenceFailed(AppError):
    """The producer's silence API refused or could not be reached: nothing was silenced (or expired)."""

    status, code = 502, "silence_failed"


@dataclass
class SilenceApi:
    label: str  # "Alertmanager" or "Grafana", as the person reads it
    base_url: str  # up to the API, e.g. http://am:9093 or https://grafana/api/alertmanager/grafana
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    def create(self, matchers: dict[str, str], minutes: int, created_by: str, comment: str,
               silence_id: str | None = None) -> str:
        """Make (or, with ``silence_id``, prolong) a silence of equality matchers; returns its id."""
        now = clock.now()
        body = {"matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True}
                             for k, v in sorted(matchers.items())],
                "startsAt": _rfc3339(now), "endsAt": _rfc3339(now + minutes * 60),
                "createdBy": created_by, "comment": comment, **({"id": silence_id} if silence_id else {})}
        answer = self._call("POST", "/api/v2/silences", body)
        try:
            return str(answer.json()["silenceID"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SilenceFailed(f"{self.label} 的回答无法识别 ({self.label} answered without a silence id)") from exc

    def expire(self, silence_id: str) -> None:
        """Expire a silence; one that is already gone counts as expired."""
        self._call("DELETE", f"/api/v2/silence/{quote(silence_id, safe='')}", gone_ok=True)

    def firing(self, matchers: dict[str, str]) -> int:
        """How many alerts matching ``matchers`` are still active (silenced or not)."""
        query = "&".join(f"filter={quote(f'{k}={json.dumps(v)}', safe='')}" for k, v in sorted(matchers.items()))
        answer = self._call("GET", f"/api/v2/alerts?{query}")
        try:
            return len(answer.json())
        except (ValueError, TypeError) as exc:
            raise SilenceFailed(f"{self.label} 的回答无法识别 ({self.label} answered something else)") from exc

    def _call(self, method: str, path: str, body: dict | None = None, gone_ok: bool = False) -> requests.Response:
        try:
            answer = _session.request(method, self.base_url.rstrip("/") + path, json=body, headers=self.headers,
                                      timeout=TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            log.warning("%s %s %s: %s", self.label, method, path.split("?")[0], type(exc).__name__)
            raise SilenceFailed(f"无法连接 {self.label}，未生效 (could not reach {self.label}: "
                                f"{type(exc).__name__}; nothing was changed)") from exc
        if answer.ok or (gone_ok and _gone(answer)):
            return answer
        text = answer.text.strip().replace("\n", " ")[:200]
        log.warning("%s %s %s: HTTP %s %s", self.label, method, path.split("?")[0], answer.status_code, text)
        raise SilenceFailed(f"{self.label} 拒绝了请求，未生效 ({self.label} answered HTTP {answer.status_code}: "
                            f"{text or 'no text'}; nothing was changed)")


def _gone(answer: requests.Response) -> bool:
    """Alertmanager 0.25 answers 500 "silence not found" for an unknown id; Grafana answers 404."""
    return answer.status_code == 404 or (answer.status_code == 500 and "not found" in answer.text)


def _rfc3339(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
