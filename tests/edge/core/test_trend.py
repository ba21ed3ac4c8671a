"""The incremental trend window against the direct least-squares definition, over random sample streams."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.core.trend import TrendWindow, trend_slope


def test_slope_of_a_line_and_degenerate_cases() -> None:
    w = TrendWindow(120.0)
    assert w.slope() is None
    for t in range(3):
        w.add(5.0, float(t))  # three samples at one instant: no slope
    assert w.slope() is None
    line = TrendWindow(120.0)
    for t in range(200):
        line.add(1000.0 + t, 3.0 - 0.5 * t)
    assert line.slope() == pytest.approx(-0.5) and len(line) == 121  # [t - 120, t]


def test_window_and_sample_cap_drop_the_oldest() -> None:
    w = TrendWindow(10.0, max_samples=4)
    for t, v in [(0.0, 100.0), (1.0, 0.0), (2.0, 1.0), (3.0, 2.0), (4.0, 3.0)]:
        w.add(t, v)
    assert w.samples() == ((1.0, 0.0), (2.0, 1.0), (3.0, 2.0), (4.0, 3.0))
    assert w.slope() == pytest.approx(1.0)
    w.add(20.0, 7.0)
    assert w.samples() == ((20.0, 7.0),) and w.slope() is None


def test_bad_window() -> None:
    with pytest.raises(ValueError):
        TrendWindow(0.0)
    with pytest.raises(ValueError):
        TrendWindow(10.0, max_samples=2)


steps_st = st.lists(st.tuples(st.sampled_from([0.0, 0.001, 0.3, 1.0, 1.0, 1.0, 7.0, 40.0, 200.0]),
                              st.floats(-50, 1000, allow_nan=False)), min_size=1, max_size=400)  # fmt: skip


@given(st.floats(0, 1e7, allow_nan=False), steps_st, st.sampled_from([16, 64, 512]))
def test_running_sums_match_the_direct_definition(start: float, steps: list[tuple[float, float]], cap: int) -> None:
    window = 120.0
    w = TrendWindow(window, max_samples=cap)
    kept: list[tuple[float, float]] = []
    at = start
    for dt, value in steps:
        at += dt
        w.add(at, value)
        kept = [*kept, (at, value)][-cap:]
        kept = [(t, v) for t, v in kept if t >= at - window]
        assert w.samples() == tuple(kept)
        expected, got = trend_slope(kept), w.slope()
        if expected is None:
            assert got is None
        else:
            assert got is not None
            spread = max(abs(v) for _, v in kept) / max(kept[-1][0] - kept[0][0], 1e-3)
            assert got == pytest.approx(expected, rel=1e-6, abs=1e-9 * (1 + spread))
