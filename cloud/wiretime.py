"""Protocol milliseconds (``*_ms`` members of the wire formats: Unix time in ms) and aware UTC datetimes, both ways,
exactly: integer arithmetic on ``timedelta``, never a float ``timestamp()`` (which rounds some instants to the
next millisecond)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    """Protocol milliseconds as an aware UTC datetime."""
    return _EPOCH + timedelta(milliseconds=ms)


def to_ms(at: datetime) -> int:
    """An aware datetime as protocol milliseconds, rounded down (sub-millisecond parts are dropped)."""
    return (at - _EPOCH) // _MS
