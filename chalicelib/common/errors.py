"""Project error hierarchy: routes and workers translate these, never bare botocore/requests errors."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class AppError(Exception):
    """Base of every error the project raises on purpose."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(AppError):
    status, code = 400, "invalid_input"


def readable(exc: ValidationError, prefix: str = "") -> str:
    """One line per problem, naming the field, without echoing the (possibly secret) input."""
    return prefix + "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    """Authenticated, but this request may not do that (e.g. move an app's endpoints without its secret)."""

    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    """A state change that the current state refuses (e.g. ack after resolve)."""

    status, code = 409, "conflict"


class AlreadyExists(Conflict):
    """Creating something under an id that is taken."""

    code = "already_exists"


class Unprocessable(AppError):
    """Well-formed, but the incident or integration cannot do this now (e.g. nobody to invite)."""

    status, code = 422, "unprocessable"


class NotConfigured(Unprocessable):
    """The integration is not set up for the feature (e.g. a war room without a scene-group template)."""

    code = "not_configured"


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


class Unavailable(AppError):
    """Our own storage or queues could not be reached: nothing was decided, the caller may try again
    (the platforms redeliver a callback answered with a 5xx)."""

    status, code = 503, "unavailable"


class CallbackRejected(AppError):
    """A platform callback that is forged, stale, replayed or malformed."""

    status, code = 400, "callback_rejected"


class StorageConflict(AppError):
    """A DynamoDB condition failed: someone else wrote first."""

    status, code = 409, "storage_conflict"


class PlatformError(AppError):
    """A platform answered with an error (also inside an HTTP 200 body)."""

    status, code = 422, "platform_error"
    retryable = False
    hint = ""  # what to fix, from the platform's error table (ErrorTable.hints); set when classified

    def __init__(self, platform: str, platform_code: str, message: str,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{platform} error {platform_code}: {message}",
                         platform=platform, platform_code=platform_code)
        self.platform = platform
        self.platform_code = str(platform_code)
        self.platform_message = message
        self.retry_after = retry_after

    def brief(self) -> str:
        """What a delivery record shows: the platform, its code and its message."""
        return f"{self.platform} {self.platform_code}: {self.platform_message}"


class Retryable(PlatformError):
    """Worth another try later: 5xx, timeouts, system busy."""

    retryable = True


class PlatformUnavailable(Retryable):
    """The platform could not be reached or timed out."""


class RateLimited(Retryable):
    """The platform (or our own scheduler) says: not now, try after ``retry_after`` seconds."""


class Paced(RateLimited):
    """Our own scheduler deferred the call to keep inside a published limit (not a failure).

    ``slot_at`` is the moment a slot was reserved for it in every window, if one was.
    """

    def __init__(self, message: str, retry_after: float, slot_at: float | None = None) -> None:
        super().__init__("dutybridge", "paced", message, retry_after=retry_after)
        self.slot_at = slot_at


class TokenInvalid(Retryable):
    """The access token was refused: refresh it once and retry once."""


class Permanent(PlatformError):
    """Retrying will not help: bad parameters, missing permission, unknown user."""


class QuotaExhausted(Permanent):
    """The monthly call quota is spent; nothing goes through until it resets."""


class TargetGone(Permanent):
    """The chat or user no longer exists or the app was removed from it."""
