"""The padlock client's errors: one root, :class:`LinkError`, with a stable ``code`` and one subclass per code.

Codes (``LinkError.code``):

- ``not_found`` — the lock was not heard advertising within the scan window (:class:`LockNotFound`);
- ``busy`` — the lock is held by another central or answered ``busy`` / ``backoff`` (:class:`LockBusy`;
  ``retry_after`` may say when);
- ``link_lost`` — the connection dropped, before or during an exchange (:class:`LinkLost`; a message cut by the
  drop is lost, the lock never half-applies one);
- ``timeout`` — the lock did not answer in time (:class:`LockTimeout`);
- ``refused`` — the lock answered a request the caller needs answered with a refusal (:class:`LockRefused`);
- ``bad_response`` — the lock sent something that is not a valid answer: fragments that do not reassemble, a
  message that does not decode, the wrong answer type, the wrong lock (:class:`UnexpectedAnswer`).

The gateway re-raises these as its own ``PadlockLinkError`` with the same code (its package has one error
root); the phone client raises them as they are.
"""

from __future__ import annotations


class LinkError(Exception):
    """A padlock could not be reached or answered wrongly. ``code`` names which (see the module)."""

    code = "link_lost"

    def __init__(self, message: str, *, field: str | None = None, result: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.field = field  # the field of an answer that was wrong, when one was
        self.result = result  # the lock's result code name, when the lock answered with one
        self.retry_after = retry_after  # seconds, when the lock said when to come back


class LockNotFound(LinkError):
    code = "not_found"


class LockBusy(LinkError):
    code = "busy"


class LinkLost(LinkError):
    code = "link_lost"


class LockTimeout(LinkError):
    code = "timeout"


class LockRefused(LinkError):
    code = "refused"


class UnexpectedAnswer(LinkError):
    code = "bad_response"


CLIENT_ERROR_CODES = frozenset(cls.code for cls in (LockNotFound, LockBusy, LinkLost, LockTimeout, LockRefused,
                                                     UnexpectedAnswer))
