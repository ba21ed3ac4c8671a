"""The trend of one gas: a least-squares slope over a sliding time window, kept incrementally.

:func:`trend_slope` is the direct definition (O(n) per call); :class:`TrendWindow` keeps the running sums
n, Σt, Σv, Σt², Σtv of the samples in the window so that adding a sample and asking for the slope cost O(1)
— the gas monitor asks for every gas on every evaluation, once per poll. Times are kept relative to an origin
that is moved up to the oldest sample once the window has turned over, so the sums stay small and exact enough;
when the samples are bunched so closely that the running form would lose precision, the slope is recomputed
directly from the samples.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

# Below this ratio of variance to Σt² the running form cancels too many digits: recompute from the samples.
_ILL_CONDITIONED = 1e-6


def trend_slope(samples: Iterable[tuple[float, float]]) -> float | None:
    """Least-squares slope (units per second) of ``(time, value)`` samples; ``None`` with fewer than 3."""
    points = list(samples)
    n = len(points)
    if n < 3 or min(t for t, _ in points) == max(t for t, _ in points):
        return None  # all at one instant: no slope (tested directly, the mean's rounding can make var ≠ 0)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var


class TrendWindow:
    """The ``(time, value)`` samples of the last ``window_s`` seconds (at most ``max_samples``) and their slope.

    Samples must come in time order (the gas monitor drops older readings before they get here).
    """

    __slots__ = ("_origin", "_samples", "_since_rebase", "_st", "_stt", "_stv", "_sv", "max_samples", "window_s")

    def __init__(self, window_s: float, max_samples: int = 512) -> None:
        if window_s <= 0 or max_samples < 3:
            raise ValueError("need window_s > 0 and max_samples >= 3")
        self.window_s = window_s
        self.max_samples = max_samples
        self._samples: deque[tuple[float, float]] = deque()
        self._origin = 0.0
        self._st = self._sv = self._stt = self._stv = 0.0
        self._since_rebase = 0

    def add(self, at: float, value: float) -> None:
        samples = self._samples
        if not samples:
            self._origin = at
        if len(samples) >= self.max_samples:
            self._drop()
        samples.append((at, value))
        dt = at - self._origin
        self._st += dt
        self._sv += value
        self._stt += dt * dt
        self._stv += dt * value
        while samples[0][0] < at - self.window_s:
            self._drop()
        # Adding and removing leaves rounding residue in the sums: recompute them from the samples once the
        # window has turned over (amortized O(1)), with the origin at the oldest sample.
        self._since_rebase += 1
        if self._since_rebase > len(samples) + 8:
            self._rebase()

    def slope(self) -> float | None:
        """The least-squares slope of the samples in the window (units per second); ``None`` with fewer than 3."""
        samples = self._samples
        n = len(samples)
        if n < 3 or samples[0][0] == samples[-1][0]:  # time-ordered: all at one instant ⇔ first == last
            return None
        var = self._stt - self._st * self._st / n
        if var <= _ILL_CONDITIONED * self._stt:
            return trend_slope(samples)
        return (self._stv - self._st * self._sv / n) / var

    def span(self) -> float:
        """The time from the oldest to the newest sample (0 with fewer than two)."""
        samples = self._samples
        return samples[-1][0] - samples[0][0] if len(samples) > 1 else 0.0

    def samples(self) -> tuple[tuple[float, float], ...]:
        return tuple(self._samples)

    def __len__(self) -> int:
        return len(self._samples)

    def _drop(self) -> None:
        at, value = self._samples.popleft()
        dt = at - self._origin
        self._st -= dt
        self._sv -= value
        self._stt -= dt * dt
        self._stv -= dt * value

    def _rebase(self) -> None:
        samples = self._samples
        self._origin = samples[0][0]
        self._st = self._sv = self._stt = self._stv = 0.0
        for at, value in samples:
            dt = at - self._origin
            self._st += dt
            self._sv += value
            self._stt += dt * dt
            self._stv += dt * value
        self._since_rebase = 0
