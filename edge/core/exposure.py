"""Time-weighted exposure over a sliding window (15-min STEL, 8-h TWA), robust to irregular sample spacing.

A sample's value holds until the next sample arrives (sample-and-hold), so a late or missing poll neither drops
exposure nor counts a value twice. The integral is kept in fixed buckets: memory is bounded by window / bucket
whatever the poll rate (an 8-hour window at a 1 s poll would otherwise keep 28,800 samples per gas), and the
sum of the buckets is kept as a running total so that asking for the average costs O(1), not O(window / bucket).
"""

from __future__ import annotations

import math
from collections import deque

STEL_WINDOW_S = 15 * 60.0  # GBZ 2.1-2019: PC-STEL is a 15-minute time-weighted average
TWA_WINDOW_S = 8 * 3600.0  # GBZ 2.1-2019: PC-TWA is an 8-hour time-weighted average


class ExposureWindow:
    """The time-weighted average of a value over the last ``window_s`` seconds (monotonic).

    The average divides by the whole window, as the regulatory definition does (8 hours' exposure / 8 h), so an
    exposure that began recently is not inflated. It errs on the safe side: the bucket at the trailing edge of the
    window is counted whole, so the average covers at most one bucket more than the window and never less.
    """

    def __init__(self, window_s: float, bucket_s: float) -> None:
        if not (0 < bucket_s <= window_s):
            raise ValueError("need 0 < bucket_s <= window_s")
        self.window_s = window_s
        self.bucket_s = bucket_s
        self._buckets: deque[list[float]] = deque()  # [bucket index, integral of value·s], oldest first
        self._last: tuple[float, float] | None = None  # (time, held value)
        self._total = 0.0  # sum of the kept buckets' integrals
        self._evicted = 0  # buckets evicted since the total was last summed afresh

    def add(self, at: float, value: float) -> bool:
        """Record a sample; a sample older than the last one is ignored (returns False). Negatives count as 0."""
        if not value > 0.0:  # negatives (and NaN) count as 0
            value = 0.0
        last = self._last
        if last is not None:
            last_at, held = last
            if at < last_at:
                return False
            if held > 0.0 and at > last_at:
                self._integrate(last_at, at, held)
        self._last = (at, value)
        buckets = self._buckets
        if buckets and buckets[0][0] < self._first_index(at):
            self._evict(at)
        return True

    def average(self, now: float) -> float:
        """The average over the window ending at ``now``, counting the held value up to ``now``."""
        if self._last is None:
            return 0.0
        first = self._first_index(now)
        total = self._total
        # Buckets that have left the window since the last sample are still kept (``average`` changes nothing);
        # they are the oldest ones, so only those few are walked.
        for index, integral in self._buckets:
            if index >= first:
                break
            total -= integral
        else:
            total = 0.0  # no bucket is left in the window: exactly nothing, not the running total's residue
        total = max(total, 0.0)  # integrals are never negative, whatever the rounding
        last_at, held = self._last
        start = max(last_at, first * self.bucket_s)
        if now > start:
            total += held * (now - start)
        return total / self.window_s

    def _first_index(self, now: float) -> int:
        return math.floor((now - self.window_s) / self.bucket_s)

    def _integrate(self, start: float, end: float, value: float) -> None:
        # Older than one window plus a bucket can never be counted again: skip it (a long gap stays O(window)).
        start = max(start, end - self.window_s - self.bucket_s)
        while start < end and value > 0:
            index = math.floor(start / self.bucket_s)
            stop = min(end, (index + 1) * self.bucket_s)
            integral = value * (stop - start)
            if self._buckets and self._buckets[-1][0] == index:
                self._buckets[-1][1] += integral
            else:
                self._buckets.append([index, integral])
            self._total += integral
            start = stop

    def _evict(self, now: float) -> None:
        first = self._first_index(now)
        while self._buckets and self._buckets[0][0] < first:
            self._total -= self._buckets.popleft()[1]
            self._evicted += 1
        # Subtracting leaves rounding residue in the running total: sum the buckets afresh once they have all
        # turned over (amortized O(1)), so the error never accumulates beyond one window's worth of additions.
        if self._evicted > len(self._buckets):
            self._total = math.fsum(integral for _index, integral in self._buckets)
            self._evicted = 0

    def __len__(self) -> int:
        """How many buckets are kept (bounded by window / bucket + 2)."""
        return len(self._buckets)
