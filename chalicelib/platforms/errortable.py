"""Each platform declares which of its error codes mean what; one function applies the table."""
from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.common.errors import (
    Permanent,
    PlatformError,
    QuotaExhausted,
    RateLimited,
    Retryable,
    TargetGone,
    TokenInvalid,
)


@dataclass(frozen=True)
class ErrorTable:
    platform: str
    token: frozenset[str] = frozenset()  # refresh the token, retry once
    throttle: frozenset[str] = frozenset()  # wait, then retry
    quota: frozenset[str] = frozenset()  # spent until the window resets: no retry
    retry: frozenset[str] = frozenset()  # transient: retry with backoff
    gone: frozenset[str] = frozenset()  # the user or chat is no longer reachable
    throttle_prefixes: tuple[str, ...] = ()
    throttle_delay: float = 1.0
    # what the admin should fix, by code (Chinese with English): shown by the test card's verdict
    hints: dict[str, str] = field(default_factory=dict)

    def classify(self, code: str, message: str, status: int = 200,
                 retry_after: float | None = None) -> PlatformError:
        """The project error for one platform answer; unknown codes are permanent. The table's hint for the code
        follows the platform's message (delivery records show it) and is kept apart as ``hint``."""
        hint = self.hints.get(code, "")
        error = self._kind(code, f"{message} — {hint}" if hint else message, status, retry_after)
        error.hint = hint
        return error

    def _kind(self, code: str, message: str, status: int, retry_after: float | None) -> PlatformError:
        if code in self.token or status == 401:
            return TokenInvalid(self.platform, code, message)
        if code in self.throttle or status == 429 or code.startswith(self.throttle_prefixes or ("\0",)):
            return RateLimited(self.platform, code, message, retry_after=retry_after or self.throttle_delay)
        if code in self.quota:
            return QuotaExhausted(self.platform, code, message)
        if code in self.retry or status >= 500:
            return Retryable(self.platform, code, message)
        if code in self.gone:
            return TargetGone(self.platform, code, message)
        return Permanent(self.platform, code, message)


# What each category of ErrorTable.classify means for the admin (Chinese with English): health's hint for a code
# whose table has no hint of its own.
MEANINGS: tuple[tuple[type[PlatformError], str, str], ...] = (  # subclasses before their bases
    (TokenInvalid, "token", "令牌或凭据被拒：检查应用的 Secret 与授权 (token or credentials refused: check the app's "
                            "secret and authorisation)"),
    (RateLimited, "throttle", "被平台限流，稍后自动重试 (throttled by the platform: retried later)"),
    (QuotaExhausted, "quota", "本月调用额度已用完 (the monthly call quota is spent: cards wait until it resets)"),
    (Retryable, "retry", "平台暂时出错或不可达，自动重试 (the platform failed or could not be reached: retried)"),
    (TargetGone, "gone", "用户或群已不可达 (the user or chat can no longer be reached)"),
    (Permanent, "permanent", "平台拒绝了请求，见平台的说明 (the platform refused the request: see its message)"),
)


def verdict(exc: PlatformError) -> dict:
    """A platform's refusal as health shows it: its code and message, the category, and the table's hint for the
    code (else what the category means)."""
    kind, meaning = next(((kind, text) for cls, kind, text in MEANINGS if isinstance(exc, cls)), MEANINGS[-1][1:])
    return {"platform": exc.platform, "code": exc.platform_code, "message": exc.platform_message,
            "kind": kind, "hint": exc.hint or meaning}
