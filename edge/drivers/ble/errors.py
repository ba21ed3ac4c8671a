"""The padlock link's one error type: a :class:`~edge.errors.DriverError` with a stable ``code``.

Codes (``PadlockLinkError.code``):

- ``not_found`` — the lock was not heard advertising within the scan window;
- ``busy`` — the lock is held by another central (a phone) or answered ``busy``; ``retry_after`` may say when;
- ``link_lost`` — the connection dropped (before or during an exchange; nothing half-applied is assumed);
- ``timeout`` — the lock did not answer in time, or the gateway's hold on the link ran out;
- ``bad_chain`` — the audit entries do not verify (signature, prev-hash linkage, seq continuity, deleted tail);
- ``refused`` — the lock answered a request the link needs (info, audit fetch, challenge) with a refusal;
- ``bad_response`` — the lock sent something that is not a valid answer (undecodable, wrong type, wrong lock).

All but ``bad_chain`` come from the shared padlock client (``padlock_client``), whose errors carry the same
codes: :func:`link_errors` re-raises them as this package's error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from edge.errors import DriverError
from padlock_client.errors import LinkError

LINK_ERROR_CODES = frozenset({"not_found", "busy", "link_lost", "timeout", "bad_chain", "refused", "bad_response"})


class PadlockLinkError(DriverError):
    """A padlock could not be reached or answered wrongly; ``code`` is one of :data:`LINK_ERROR_CODES`."""

    def __init__(self, message: str, *, code: str, field: str | None = None, result: str | None = None,
                 retry_after: float | None = None) -> None:
        if code not in LINK_ERROR_CODES:
            raise ValueError(f"unknown padlock link error code {code!r}")
        self.result = result  # the lock's result code name, when the lock answered with one
        self.retry_after = retry_after  # seconds, when the lock said when to come back
        super().__init__(message, code=code, field=field)

    def __str__(self) -> str:
        return f"{self.code}: {self.args[0]}"

    @classmethod
    def of(cls, error: LinkError) -> PadlockLinkError:
        """The padlock client's error as the gateway's (same code, message, result and retry time)."""
        return cls(str(error), code=error.code, field=error.field, result=error.result, retry_after=error.retry_after)


@contextlib.contextmanager
def link_errors() -> Iterator[None]:
    """Re-raise the padlock client's errors inside the block as :class:`PadlockLinkError`."""
    try:
        yield
    except LinkError as exc:
        raise PadlockLinkError.of(exc) from exc
