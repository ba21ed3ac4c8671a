"""The instant handed to the safety core: monotonic seconds for durations, wall seconds for records.

A Raspberry Pi has no battery-backed clock, so within a boot elapsed time is measured on the monotonic clock and
only records (and deadlines that must survive a restart) use the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Now:
    """One instant: ``mono`` (monotonic seconds, this boot) and ``wall`` (UNIX seconds, for records)."""

    mono: float
    wall: int

    def later(self, seconds: float) -> Now:
        """The instant ``seconds`` after this one (both clocks advance together)."""
        return Now(self.mono + seconds, self.wall + round(seconds))
