"""Exposure windows against an exact reference integral, with irregular sample spacing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.core.exposure import STEL_WINDOW_S, ExposureWindow


def exact_average(samples: list[tuple[float, float]], now: float, window: float) -> float:
    """Sample-and-hold integral over [now - window, now] divided by window, computed directly."""
    total = 0.0
    for i, (at, value) in enumerate(samples):
        end = samples[i + 1][0] if i + 1 < len(samples) else now
        lo, hi = max(at, now - window), min(end, now)
        if hi > lo:
            total += max(0.0, value) * (hi - lo)
    return total / window


def test_constant_value_fills_the_window() -> None:
    w = ExposureWindow(STEL_WINDOW_S, 10)
    w.add(0, 40.0)
    assert w.average(STEL_WINDOW_S / 2) == pytest.approx(20.0)
    assert w.average(STEL_WINDOW_S) == pytest.approx(40.0)
    assert w.average(10 * STEL_WINDOW_S) == pytest.approx(40.0)


def test_peak_leaves_the_window() -> None:
    w = ExposureWindow(900, 10)
    w.add(0, 90.0)
    w.add(100, 0.0)
    assert w.average(100) == pytest.approx(10.0)
    assert w.average(1000 + 10) == 0.0  # past the window plus one bucket


def test_irregular_spacing_is_time_weighted() -> None:
    w = ExposureWindow(900, 1)
    # 10 mg/m³ for 800 s then 100 for 100 s: the average is 20, not the sample mean 55.
    w.add(0, 10.0)
    w.add(800, 100.0)
    assert w.average(900) == pytest.approx(20.0)


def test_out_of_order_sample_ignored_and_negative_clipped() -> None:
    w = ExposureWindow(900, 10)
    assert w.add(100, -3.0)
    assert not w.add(50, 1000.0)
    assert w.average(900) == 0.0


def test_empty_and_bad_window() -> None:
    assert ExposureWindow(900, 10).average(5) == 0.0
    with pytest.raises(ValueError):
        ExposureWindow(10, 20)


samples_st = st.lists(
    st.tuples(st.floats(0, 3000, allow_nan=False), st.floats(-5, 500, allow_nan=False)), min_size=1, max_size=40
)


@given(samples_st, st.floats(0, 4000), st.sampled_from([1.0, 7.5, 30.0]))
def test_average_is_exact_or_one_bucket_safer(raw: list[tuple[float, float]], extra: float, bucket: float) -> None:
    samples = sorted(raw, key=lambda s: s[0])
    window = 900.0
    w = ExposureWindow(window, bucket)
    for at, value in samples:
        w.add(at, value)
    now = samples[-1][0] + extra
    exact = exact_average(samples, now, window)
    peak = max(max(0.0, v) for _, v in samples)
    got = w.average(now)
    assert exact - 1e-6 <= got <= exact + peak * bucket / window + 1e-6


@given(samples_st)
def test_memory_is_bounded(raw: list[tuple[float, float]]) -> None:
    w = ExposureWindow(100.0, 10.0)
    for at, value in sorted(raw):
        w.add(at, value)
    assert len(w) <= 100 / 10 + 2


def test_running_total_does_not_drift_over_many_windows() -> None:
    # 30 windows of irregular samples: the O(1) running total must still match the exact integral.
    w = ExposureWindow(900.0, 10.0)
    samples: list[tuple[float, float]] = []
    at = 0.0
    for i in range(27_000):
        at += 0.5 + (i * 7919 % 13) / 10  # 0.5 … 1.7 s apart
        value = (i * 104729 % 1000) / 7.0  # 0 … 142.7
        w.add(at, value)
        samples.append((at, value))
        if i % 4999 == 0:
            exact = exact_average(samples, at, 900.0)
            assert exact - 1e-9 <= w.average(at) <= exact + 142.8 * 10 / 900 + 1e-9
    assert len(w) <= 900 / 10 + 2


@given(samples_st, st.floats(1100, 5000))
def test_nothing_left_in_the_window_is_exactly_zero(raw: list[tuple[float, float]], gap: float) -> None:
    w = ExposureWindow(900.0, 10.0)
    samples = sorted(raw, key=lambda s: s[0])
    for at, value in samples:
        w.add(at, value)
    w.add(samples[-1][0] + 1, 0.0)  # the gas is gone ...
    assert w.average(samples[-1][0] + 1 + gap) == 0.0  # ... and a window and a bucket later, nothing is left


# -- across a restart: snapshot on one boot's monotonic clock, restore on the next one's ----------------------


def wall_round_trip(w: ExposureWindow, now_mono: float, now_wall: float) -> dict:
    """A snapshot as the daemon stores it: through JSON."""
    return json.loads(json.dumps(w.snapshot(now_mono, now_wall)))


@given(
    samples_st,
    st.floats(0, 2000),  # downtime, seconds
    st.floats(0, 1500),  # how long after the restart the averages are compared
    st.floats(-1e5, 1e5),  # the new boot's monotonic clock against the old one's
    st.sampled_from([1.0, 7.5, 30.0]),
)
def test_restored_window_keeps_the_average_within_a_bucket(
    raw: list[tuple[float, float]], down: float, after: float, mono_shift: float, bucket: float
) -> None:
    samples = sorted(raw, key=lambda s: s[0])
    window, wall_offset = 900.0, 1.7e9  # wall = mono + offset on the first boot
    original = ExposureWindow(window, bucket)
    for at, value in samples:
        original.add(at, value)
    saved_mono = samples[-1][0] + 1.0
    data = wall_round_trip(original, saved_mono, saved_mono + wall_offset)
    original.add(saved_mono, 0.0)  # the downtime counts as no exposure: the reference holds 0 through it

    restored = ExposureWindow(window, bucket)
    boot_mono = saved_mono + down + mono_shift  # the same wall instant on the new boot's monotonic clock
    assert restored.restore(data, boot_mono, saved_mono + down + wall_offset)
    peak = max(max(0.0, v) for _, v in samples)
    for later in (0.0, after):
        want = original.average(saved_mono + down + later)
        got = restored.average(boot_mono + later)
        assert want - 1e-6 <= got <= want + peak * bucket / window + 1e-6  # never less; at most a bucket more
    assert len(restored) <= window / bucket + 2


def test_restore_drops_buckets_that_left_the_window_and_holds_nothing_over_the_gap() -> None:
    w = ExposureWindow(900.0, 10.0)
    w.add(0.0, 90.0)
    w.add(100.0, 0.0)  # 100 s at 90: 10 over the 15 minutes
    data = wall_round_trip(w, 100.0, 5000.0)
    assert [wall for wall, _ in data["buckets"]] == [4900.0 + 10 * i for i in range(10)]

    soon = ExposureWindow(900.0, 10.0)
    assert soon.restore(data, 7.0, 5030.0)  # 30 s down, on a monotonic clock that started afresh
    assert soon.average(7.0) == pytest.approx(10.0)
    assert soon.average(7.0 + 700) == pytest.approx(10.0)  # still inside the 15 minutes
    assert soon.average(7.0 + 900) == 0.0  # gone, a window and a bucket after the exposure

    late = ExposureWindow(900.0, 10.0)
    assert late.restore(data, 7.0, 5000.0 + 960.0)  # down for longer than the window: all of it has left
    assert len(late) == 0 and late.average(7.0) == 0.0

    held = ExposureWindow(900.0, 10.0)
    held.add(0.0, 90.0)  # a value still held when the snapshot is taken counts up to the snapshot, no further
    later = ExposureWindow(900.0, 10.0)
    assert later.restore(wall_round_trip(held, 90.0, 1090.0), 0.0, 1090.0 + 300)
    assert later.average(0.0) == pytest.approx(9.0)
    assert not later.add(-1.0, 500.0)  # from before the restore: refused like any out-of-order sample
    assert later.add(10.0, 0.0) and later.average(10.0) == pytest.approx(9.0)


def test_restore_ignores_a_snapshot_of_another_window_or_into_a_used_one() -> None:
    w = ExposureWindow(900.0, 10.0)
    w.add(0.0, 50.0)
    data = wall_round_trip(w, 100.0, 1100.0)
    for other in (ExposureWindow(900.0, 30.0), ExposureWindow(8 * 3600.0, 10.0)):
        assert not other.restore(data, 100.0, 1100.0) and other.average(100.0) == 0.0
    used = ExposureWindow(900.0, 10.0)
    used.add(50.0, 1.0)
    assert not used.restore(data, 100.0, 1100.0)
    assert used.average(100.0) == pytest.approx(50.0 / 900)


def test_restore_with_a_wall_clock_gone_back_takes_no_time_as_passed() -> None:
    w = ExposureWindow(900.0, 10.0)
    w.add(0.0, 90.0)
    data = wall_round_trip(w, 100.0, 1_700_000_000.0)
    back = ExposureWindow(900.0, 10.0)
    assert back.restore(data, 3.0, 1_600_000_000.0)  # booted on an older time, before NTP
    assert back.average(3.0) == pytest.approx(10.0)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"window_s": 900.0, "bucket_s": 10.0},
        {"window_s": 900.0, "bucket_s": 10.0, "buckets": [[1.0]]},
        {"window_s": "x", "bucket_s": 10.0, "buckets": []},
        {"window_s": 900.0, "bucket_s": 10.0, "buckets": [[1.0, -5.0]]},
        {"window_s": 900.0, "bucket_s": 10.0, "buckets": [[1.0, float("nan")]]},
    ],
)
def test_restore_refuses_what_is_not_a_snapshot(data: dict) -> None:
    w = ExposureWindow(900.0, 10.0)
    with pytest.raises(ValueError):
        w.restore(data, 0.0, 1000.0)
    assert len(w) == 0 and w.average(0.0) == 0.0
