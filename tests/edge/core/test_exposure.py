"""Exposure windows against an exact reference integral, with irregular sample spacing."""

from __future__ import annotations

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
