"""What can go wrong on the phone's side of an unlock, apart from the padlock saying no (a result code)."""

from __future__ import annotations


class PhoneError(Exception):
    """Root of the phone client's errors."""


class LockNotFound(PhoneError):
    """No padlock with the lock id was heard advertising within the scan time."""


class LinkLost(PhoneError):
    """The BLE link dropped; a message cut by the drop is lost (the lock never half-applies one)."""


class LockTimeout(PhoneError):
    """The padlock did not answer in time."""


class UnexpectedAnswer(PhoneError):
    """The padlock answered with a message that does not fit the request, or one that does not decode."""


class TokenUnavailable(PhoneError):
    """No usable permit token for this lock (none fetched, none cached, or the cached one expired)."""
