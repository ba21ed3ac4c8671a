"""Time-weighted exposure over a sliding window (15-min STEL, 8-h TWA), robust to irregular sample spacing.

A sample's value holds until the next sample arrives (sample-and-hold), so a late or missing poll neither drops
exposure nor counts a value twice. The integral is kept in fixed buckets: memory is bounded by window / bucket
whatever the poll rate (an 8-hour window at a 1 s poll would otherwise keep 28,800 samples per gas), and the
sum of the buckets is kept as a running total so that asking for the average costs O(1), not O(window / bucket).

A window survives a restart of the daemon through :meth:`ExposureWindow.snapshot` and
:meth:`ExposureWindow.restore`: the buckets are written keyed by their start in wall seconds, because the
monotonic clock starts afresh at every boot, and mapped back onto the new boot's monotonic clock.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

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

    def _pieces(self, start: float, end: float, value: float) -> Iterator[tuple[int, float]]:
        """What :meth:`_integrate` would add, bucket by bucket, without adding it: (bucket index, integral)."""
        start = max(start, end - self.window_s - self.bucket_s)
        while start < end and value > 0:
            index = math.floor(start / self.bucket_s)
            stop = min(end, (index + 1) * self.bucket_s)
            yield index, value * (stop - start)
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

    def snapshot(self, now_mono: float, now_wall: float) -> dict[str, Any]:
        """The window at ``now_mono`` (``now_wall`` on the wall clock) as JSON-able data, for :meth:`restore`.

        The held value is counted up to ``now_mono`` (the window itself is not changed). Each bucket still in the
        window is written as ``[wall second its start maps to, integral of value·s]``, oldest first; ``saved_at`` is
        ``now_wall``.
        """
        integrals: dict[int, float] = {int(index): integral for index, integral in self._buckets}
        if self._last is not None:
            last_at, held = self._last
            for index, integral in self._pieces(last_at, now_mono, held):
                integrals[index] = integrals.get(index, 0.0) + integral
        first = self._first_index(now_mono)
        offset = now_wall - now_mono  # wall = mono + offset, this boot
        return {
            "window_s": self.window_s,
            "bucket_s": self.bucket_s,
            "saved_at": now_wall,
            "buckets": [
                [index * self.bucket_s + offset, integral]
                for index, integral in sorted(integrals.items())
                if index >= first and integral > 0.0
            ],
        }

    def restore(self, data: Mapping[str, Any], now_mono: float, now_wall: float) -> bool:
        """Take the buckets of a :meth:`snapshot` (of an earlier boot), mapped onto this boot's monotonic clock.

        A bucket that started at wall second ``w`` starts at ``now_mono - (now_wall - w)``. It goes into the first
        bucket of this window starting at or after that instant (never into one not yet begun), so it is moved later
        by less than one bucket: it stays in the window a little longer, never shorter — the safe side, as everywhere
        in this window. Buckets that have left the window by ``now_mono`` are dropped. A wall clock that has gone
        back since the snapshot (a Pi has no battery-backed clock) is taken as no time passed, for the same reason.

        No held value is carried over: the time the daemon was down counts as no exposure, because nobody measured
        the gas then, and the gap is usually seconds (a restart), in which holding the last value would hardly move
        an 8-hour or even a 15-minute average. The window holds 0 from ``now_mono`` until the first reading after the
        restart; a sample from before ``now_mono`` is refused, as any out-of-order sample.

        Returns False, changing nothing, when the snapshot's window or bucket sizes differ from this window's (the
        buckets would not mean the same thing) or when this window has already taken samples (restore first).
        Raises ValueError for data that is not a snapshot.
        """
        try:
            window_s, bucket_s = float(data["window_s"]), float(data["bucket_s"])
            saved_at = float(data.get("saved_at", now_wall))
            buckets = [(float(wall), float(integral)) for wall, integral in data["buckets"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not an exposure snapshot: {exc!r}") from None
        if not all(math.isfinite(w) and math.isfinite(i) and i >= 0.0 for w, i in buckets) or not math.isfinite(
            saved_at
        ):
            raise ValueError("not an exposure snapshot: a bucket is not finite or negative")
        if window_s != self.window_s or bucket_s != self.bucket_s or self._last is not None or self._buckets:
            return False
        shift = (now_mono - now_wall) if now_wall >= saved_at else (now_mono - saved_at)  # mono = wall + shift
        first, current = self._first_index(now_mono), math.floor(now_mono / self.bucket_s)
        merged: dict[int, float] = {}
        for wall, integral in buckets:
            index = min(math.ceil((wall + shift) / self.bucket_s), current)  # never into a bucket not begun yet
            if index >= first and integral > 0.0:
                merged[index] = merged.get(index, 0.0) + integral
        self._buckets = deque([index, integral] for index, integral in sorted(merged.items()))
        self._total = math.fsum(merged.values())
        self._evicted = 0
        self._last = (now_mono, 0.0)  # nothing held over the downtime; a sample from before now is refused
        return True

    def __len__(self) -> int:
        """How many buckets are kept (bounded by window / bucket + 2)."""
        return len(self._buckets)
