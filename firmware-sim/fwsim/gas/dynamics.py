"""Sensor dynamics, pure: a gas series over time, a first-order sensor following it, and seeded noise.

A real electrochemical or catalytic sensor does not jump to a new concentration; it follows it like a
first-order lag, specified by its T90 — the time to show 90 % of a step. With time constant τ, 1 − e^(−T90/τ)
= 0.9, so T90 = ln(10) τ ≈ 2.303 τ. The response to a piecewise-linear input is computed exactly, segment by
segment, so the reading at a time does not depend on how often or when the simulator was asked before.
Noise is a function of (seed, unit, gas, noise tick) for the same reason: the same seed gives the same readings.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence

LN10 = math.log(10.0)
MIN_RAMP_S = 1e-6


def tau_of_t90(t90_s: float) -> float:
    """The time constant of a first-order sensor with this T90 (T90 = ln 10 · τ ≈ 2.303 τ)."""
    return t90_s / LN10


class GasSeries:
    """A concentration over time from ``[seconds, value]`` points: linear between points, or held (steps).

    Before the first point the first value holds; after the last point the last value holds.
    """

    def __init__(self, points: Sequence[tuple[float, float]], interpolation: str = "linear") -> None:
        if not points:
            raise ValueError("a series needs at least one point")
        if interpolation not in ("linear", "step"):
            raise ValueError(f"interpolation is linear or step, not {interpolation!r}")
        self.times = [float(t) for t, _ in points]
        self.values = [float(v) for _, v in points]
        if any(b < a for a, b in itertools.pairwise(self.times)):
            raise ValueError("points must be in time order")
        self.step = interpolation == "step"

    @classmethod
    def constant(cls, value: float) -> GasSeries:
        return cls([(0.0, value)])

    def at(self, t: float) -> float:
        """The value at ``t``; at a point in time listed twice (a jump) the later value counts."""
        i = bisect.bisect_right(self.times, t)
        if i == 0:
            return self.values[0]
        if i == len(self.times) or self.step:
            return self.values[i - 1]
        t0, t1 = self.times[i - 1], self.times[i]
        v0, v1 = self.values[i - 1], self.values[i]
        return v0 + (v1 - v0) * (t - t0) / (t1 - t0)

    def segment(self, t: float) -> tuple[float, float]:
        """(value, slope per second) of the piece that starts at or just after ``t``."""
        i = bisect.bisect_right(self.times, t)
        if i == 0 or i == len(self.times) or self.step:
            return self.at(t), 0.0
        t0, t1 = self.times[i - 1], self.times[i]
        if t1 - t0 < MIN_RAMP_S:
            return self.at(t), 0.0  # a ramp this short is a jump; its slope would overflow
        return self.at(t), (self.values[i] - self.values[i - 1]) / (t1 - t0)

    def breaks_between(self, t0: float, t1: float) -> list[float]:
        """The point times strictly inside (t0, t1): where the input's slope or value may change."""
        lo = bisect.bisect_right(self.times, t0)
        hi = bisect.bisect_left(self.times, t1)
        return sorted(set(self.times[lo:hi]))


class FirstOrderSensor:
    """A sensor reading ``y`` following ``series`` with dy/dt = (u − y)/τ, advanced exactly in time order."""

    def __init__(self, series: GasSeries, t90_s: float, *, t0: float = 0.0) -> None:
        if t90_s < 0 or not math.isfinite(t90_s):
            raise ValueError(f"T90 must be a finite number >= 0, not {t90_s}")
        self.series = series
        self.tau = tau_of_t90(t90_s)
        self.t = t0
        self.y = series.at(t0)  # settled at the start: the detector was already on in this air

    def advance_to(self, t: float) -> float:
        """Move to time ``t`` (never backwards) and return the sensor's reading there."""
        if t < self.t:
            raise ValueError(f"time went backwards: {t} < {self.t}")
        for end in [*self.series.breaks_between(self.t, t), t]:
            self._advance_linear(end)
        return self.y

    def _advance_linear(self, t1: float) -> None:
        dt = t1 - self.t
        if dt <= 0:
            return
        u0, slope = self.series.segment(self.t)
        u1 = u0 + slope * dt
        if self.tau == 0:
            self.y = u1
        else:
            # Exact solution for a ramp input u(s) = u0 + slope·s: y = u − slope·τ·(1 − e^(−s/τ)) + (y0 − u0)·e^(−s/τ).
            # Written with expm1 so that no two large terms cancel.
            decay = math.exp(-dt / self.tau)
            self.y = u1 + slope * self.tau * math.expm1(-dt / self.tau) + (self.y - u0) * decay
        self.t = t1


def noise_at(seed: int, unit: int, gas: str, tick: int, sigma: float) -> float:
    """Gaussian noise with standard deviation ``sigma``, the same for the same (seed, unit, gas, tick)."""
    if sigma == 0:
        return 0.0
    # A str seed is hashed with SHA-512 by random.Random: stable across runs and Python processes.
    return random.Random(f"{seed}/{unit}/{gas}/{tick}").gauss(0.0, sigma)
