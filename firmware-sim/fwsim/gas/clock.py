"""Scenario clocks: where simulated devices get "now" from. Tests drive a :class:`ManualClock`; runs use a
:class:`ScaledClock` (real time, or faster by a speed factor for soak tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Scenario seconds since the start; never decreasing."""
        ...


class ManualClock:
    """A clock that moves only when told to: tests set scenario time explicitly instead of waiting."""

    def __init__(self, t: float = 0.0) -> None:
        self._t = float(t)

    def now(self) -> float:
        return self._t

    def set(self, t: float) -> None:
        if t < self._t:
            raise ValueError(f"a scenario clock does not go backwards: {t} < {self._t}")
        self._t = float(t)

    def advance(self, seconds: float) -> None:
        self.set(self._t + seconds)


class ScaledClock:
    """Real time since creation, times ``speed`` (1 = real time, 60 = an hour a minute)."""

    def __init__(self, speed: float = 1.0, *, source: Callable[[], float] = time.monotonic) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, not {speed}")
        self.speed = speed
        self._source = source
        self._start = source()

    def now(self) -> float:
        return (self._source() - self._start) * self.speed
