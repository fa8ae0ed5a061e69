"""The one exception tree.

Services and adapters raise these; the API maps them to
`{"error": {"code", "message", "details"}}` in one place (chalicelib/core/routing.py).
Step Functions tasks raise them too: the class name is the `errorType` that
Retry/Catch match on.
"""

from __future__ import annotations

from typing import Any


class LecternError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details if details is not None else {}
        if code:
            self.code = code
        self.headers: dict[str, str] = {}  # HTTP headers the error response carries


class ValidationFailed(LecternError):
    status = 400
    code = "validation_failed"


class Unauthorized(LecternError):
    status = 401
    code = "unauthorized"


class Forbidden(LecternError):
    status = 403
    code = "forbidden"


class NotFound(LecternError):
    status = 404
    code = "not_found"


class MethodNotAllowed(LecternError):
    status = 405
    code = "method_not_allowed"


class Conflict(LecternError):
    status = 409
    code = "conflict"


class Gone(LecternError):
    """The thing existed but can no longer be used (an expired or used invite)."""

    status = 410
    code = "gone"


class PayloadTooLarge(LecternError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(LecternError):
    status = 415
    code = "unsupported_media_type"


class TooManyRequests(LecternError):
    """A rate limit was reached; the response says when to retry (`Retry-After`, seconds)."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int | None = None, details: Any = None, code: str | None = None):
        super().__init__(message, details=details, code=code)
        self.retry_after = retry_after
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)


class MediaRejected(LecternError):
    """An uploaded file is not what it claims to be; final, never retried."""

    status = 422
    code = "media_rejected"


class TransientFailure(LecternError):
    """A dependency failed in a way worth retrying (throttling, timeouts)."""

    status = 503
    code = "service_unavailable"
