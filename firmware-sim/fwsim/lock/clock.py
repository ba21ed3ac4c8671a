"""The padlock's real-time clock and its trusted-time floor. Pure: the host time is passed in.

The RTC runs from the moment it was last set, at a rate off by ``drift_ppm`` parts per million (a cheap
crystal drifts tens of ppm). The lock's *trusted* time is the RTC reading, but never earlier than the
highest time it has already trusted (the floor): a clock set back, by a signed time set or a flat battery,
cannot make time run backwards, so it cannot revive an expired permit or challenge (padlock spec §8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class LockClock:
    set_at_host: float = 0.0  # host time when the RTC was last set
    set_to: float = 0.0  # what the RTC read then (Unix seconds)
    drift_ppm: float = 0.0  # > 0: the RTC runs fast
    floor: int = 0  # the highest trusted time handed out so far

    def rtc(self, host: float) -> float:
        """What the RTC reads at host time ``host`` (may be earlier than the floor)."""
        return self.set_to + (host - self.set_at_host) * (1.0 + self.drift_ppm * 1e-6)

    def now(self, host: float) -> int:
        """The lock's trusted time, whole seconds; never lower than any value returned before."""
        reading = self.rtc(host)
        trusted = max(self.floor, math.floor(reading) if math.isfinite(reading) else self.floor)
        self.floor = trusted
        return trusted

    def set(self, time: int, host: float) -> None:
        """Set the RTC (signed time set, provisioning). The floor holds until the clock passes it."""
        self.set_at_host, self.set_to = host, float(time)

    def set_drift(self, drift_ppm: float, host: float) -> None:
        """Change the drift from now on (the time read so far stays as it was)."""
        self.set_to, self.set_at_host, self.drift_ppm = self.rtc(host), host, drift_ppm

    def reset_rtc(self, host: float) -> None:
        """A flat RTC battery: the clock restarts at the epoch (the floor still holds)."""
        self.set(0, host)

    def to_record(self) -> dict[str, Any]:
        return {"set_at_host": self.set_at_host, "set_to": self.set_to, "drift_ppm": self.drift_ppm,
                "floor": self.floor}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> LockClock:
        return cls(set_at_host=float(record["set_at_host"]), set_to=float(record["set_to"]),
                   drift_ppm=float(record["drift_ppm"]), floor=int(record["floor"]))
