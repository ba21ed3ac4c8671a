"""The one exception root of the cloud service; each subclass carries an HTTP status and a stable code.

Services raise these; ``cloud.http.errors`` turns them into ``{"error": {"code", "message", "field"}}``.
Denied access to an object is ``NotFound`` (never reveal that something exists outside the caller's scope);
``Forbidden`` is only for what the caller's role may never do, whatever the object.
"""

from __future__ import annotations

from typing import Any, ClassVar


class CloudError(Exception):
    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        self.message = message
        self.code = code or self.default_code
        self.field = field
        super().__init__(message)

    def extra(self) -> dict[str, Any]:
        """Additional top-level members of the JSON error body."""
        return {}

    def headers(self) -> dict[str, str]:
        return {}


class Unauthorized(CloudError):
    status = 401
    default_code = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(CloudError):
    status = 403
    default_code = "forbidden"


class NotFound(CloudError):
    status = 404
    default_code = "not_found"


class Conflict(CloudError):
    status = 409
    default_code = "conflict"


class PayloadTooLarge(CloudError):
    status = 413
    default_code = "payload_too_large"


class UnsupportedMediaType(CloudError):
    status = 415
    default_code = "unsupported_media_type"


class InvalidInput(CloudError):
    status = 422
    default_code = "invalid"


class TooManyRequests(CloudError):
    status = 429
    default_code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class NotMigrated(CloudError):
    """The database schema is not at the code's head revision (start refused)."""

    status = 503
    default_code = "not_migrated"


class Busy(CloudError):
    """The service is saturated (e.g. every password-hash slot is taken): retry shortly."""

    status = 503
    default_code = "busy"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
