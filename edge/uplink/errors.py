"""Errors of the uplink: the cloud cannot be reached, did not acknowledge in time, or refused a batch."""

from __future__ import annotations

from edge.errors import EdgeError


class UplinkError(EdgeError):
    """Sending to or receiving from the cloud failed."""

    default_code = "uplink_error"


class UplinkUnavailable(UplinkError):
    """No connection to the cloud right now (broker or ingest endpoint down): retry with backoff."""

    default_code = "unavailable"


class AckTimeout(UplinkError):
    """The cloud did not acknowledge a batch in time: the batch is sent again (duplicates are harmless)."""

    default_code = "ack_timeout"


class UplinkRejected(UplinkError):
    """The cloud refused a batch (HTTP 4xx): resending the same bytes will not help; ``status`` says why."""

    default_code = "rejected"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 status: int | None = None) -> None:
        self.status = status
        super().__init__(message, code=code, field=field)
