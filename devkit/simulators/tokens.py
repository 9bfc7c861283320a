"""App access tokens as DingTalk and WeCom issue them (shared so that no simulator imports another)."""
from __future__ import annotations

import secrets

TOKEN_TTL = 7200


class TokenFamily:
    """One family of app tokens (DingTalk: new API or old API; WeCom: an app or a suite): the same token while
    valid, its life extended."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.expires_at: dict[str, float] = {}

    def issue(self, now: float) -> str:
        if self.current is None or self.expires_at[self.current] <= now:
            self.current = secrets.token_hex(16)
        self.expires_at[self.current] = now + TOKEN_TTL
        return self.current

    def status(self, token: str | None, now: float) -> str:
        """``missing``, ``unknown``, ``expired`` or ``ok``."""
        if not token:
            return "missing"
        if token not in self.expires_at:
            return "unknown"
        return "ok" if self.expires_at[token] > now else "expired"
