"""What can go wrong on the phone's side of an unlock, apart from the padlock saying no (a result code).

The radio and the exchange are the shared padlock client's, and so are their errors (root
:class:`~padlock_client.errors.LinkError`), re-exported here under the names the phone has always used;
:class:`PhoneError` is the root of what only the phone raises.
"""

from __future__ import annotations

from padlock_client.errors import LinkError, LinkLost, LockNotFound, LockTimeout, UnexpectedAnswer

__all__ = ["LinkError", "LinkLost", "LockNotFound", "LockTimeout", "PhoneError", "TokenUnavailable",
           "UnexpectedAnswer"]


class PhoneError(Exception):
    """Root of the errors only the phone client raises."""


class TokenUnavailable(PhoneError):
    """No usable permit token for this lock (none fetched, none cached, or the cached one expired)."""
