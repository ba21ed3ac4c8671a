"""Sensor dynamics: series interpolation, exact first-order response (T90), seeded noise."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from fwsim.gas.dynamics import FirstOrderSensor, GasSeries, noise_at, tau_of_t90

values = st.floats(min_value=-100, max_value=1000, allow_nan=False)
times = st.floats(min_value=0, max_value=5000, allow_nan=False)


@st.composite
def series(draw: st.DrawFn) -> GasSeries:
    ts = sorted(draw(st.lists(times, min_size=1, max_size=8)))
    vs = draw(st.lists(values, min_size=len(ts), max_size=len(ts)))
    return GasSeries(list(zip(ts, vs, strict=True)), draw(st.sampled_from(["linear", "step"])))


def test_t90_is_ln10_time_constants() -> None:
    assert tau_of_t90(2.303) == pytest.approx(1.0, rel=1e-3)
    assert tau_of_t90(0) == 0


def test_linear_series_interpolates_and_holds_at_the_ends() -> None:
    s = GasSeries([(10, 0.0), (20, 10.0), (20, 50.0), (30, 50.0)])
    assert s.at(0) == 0.0 and s.at(15) == 5.0 and s.at(19.99) == pytest.approx(9.99)
    assert s.at(20) == 50.0  # a time listed twice is a jump: the later value counts from then on
    assert s.at(1e6) == 50.0


def test_step_series_holds_each_value_until_the_next_point() -> None:
    s = GasSeries([(0, 1.0), (10, 2.0)], "step")
    assert [s.at(t) for t in (0, 9.99, 10, 11)] == [1.0, 1.0, 2.0, 2.0]


def test_series_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        GasSeries([])
    with pytest.raises(ValueError):
        GasSeries([(5, 1.0), (1, 2.0)])
    with pytest.raises(ValueError):
        GasSeries([(0, 1.0)], "cubic")


@settings(max_examples=60, deadline=None)
@given(step_at=st.floats(min_value=1, max_value=100), size=st.floats(min_value=0.5, max_value=500),
       t90=st.floats(min_value=0.5, max_value=120), base=st.floats(min_value=-10, max_value=10))
def test_a_step_reaches_90_percent_at_t90(step_at: float, size: float, t90: float, base: float) -> None:
    sensor = FirstOrderSensor(GasSeries([(0, base), (step_at, base), (step_at, base + size)]), t90)
    assert sensor.advance_to(step_at) == pytest.approx(base)
    assert sensor.advance_to(step_at + t90) - base == pytest.approx(0.9 * size, rel=1e-9)
    assert sensor.advance_to(step_at + 10 * t90) - base == pytest.approx(size, rel=1e-4)


@settings(max_examples=80, deadline=None)
@given(s=series(), t90=st.floats(min_value=0, max_value=200),
       stops=st.lists(times, min_size=1, max_size=12))
def test_the_reading_does_not_depend_on_how_often_it_was_asked(s: GasSeries, t90: float, stops: list[float]) -> None:
    stops = sorted(stops)
    often, once = FirstOrderSensor(s, t90), FirstOrderSensor(s, t90)
    for t in stops:
        often.advance_to(t)
    assert often.y == pytest.approx(once.advance_to(stops[-1]), rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(s=series(), t90=st.floats(min_value=0, max_value=200), stops=st.lists(times, min_size=1, max_size=12))
def test_the_reading_stays_within_what_the_air_ever_was(s: GasSeries, t90: float, stops: list[float]) -> None:
    sensor = FirstOrderSensor(s, t90)
    note(f"points {list(zip(s.times, s.values, strict=True))} step={s.step}")
    low, high = min(s.values), max(s.values)
    for t in sorted(stops):
        y = sensor.advance_to(t)
        assert low - 1e-9 * (1 + abs(low)) <= y <= high + 1e-9 * (1 + abs(high))


@settings(max_examples=40, deadline=None)
@given(s=series(), t90=st.floats(min_value=0, max_value=200), a=times, b=times)
def test_time_never_goes_backwards(s: GasSeries, t90: float, a: float, b: float) -> None:
    later, earlier = max(a, b), min(a, b)
    sensor = FirstOrderSensor(s, t90)
    sensor.advance_to(later)
    if earlier < later:
        with pytest.raises(ValueError):
            sensor.advance_to(earlier)
    assert sensor.t == later


def test_a_ramp_is_followed_with_a_lag_of_slope_times_tau() -> None:
    slope, t90 = 0.5, 23.03
    sensor = FirstOrderSensor(GasSeries([(0, 0.0), (1000, slope * 1000)]), t90)
    assert sensor.advance_to(500) == pytest.approx(slope * 500 - slope * tau_of_t90(t90), rel=1e-6)


def test_a_sensor_with_zero_t90_follows_the_air_exactly() -> None:
    sensor = FirstOrderSensor(GasSeries([(0, 0.0), (10, 10.0)]), 0)
    assert sensor.advance_to(3) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        FirstOrderSensor(GasSeries.constant(1.0), math.inf)


@given(seed=st.integers(0, 2**32), unit=st.integers(1, 247), tick=st.integers(0, 10**6))
def test_noise_is_a_function_of_seed_unit_gas_and_tick(seed: int, unit: int, tick: int) -> None:
    assert noise_at(seed, unit, "H2S", tick, 0.1) == noise_at(seed, unit, "H2S", tick, 0.1)
    assert noise_at(seed, unit, "H2S", tick, 0.0) == 0.0


def test_noise_differs_between_seeds_and_has_the_asked_spread() -> None:
    a = [noise_at(1, 1, "CO", k, 2.0) for k in range(2000)]
    b = [noise_at(2, 1, "CO", k, 2.0) for k in range(2000)]
    assert a != b
    mean = sum(a) / len(a)
    sd = math.sqrt(sum((x - mean) ** 2 for x in a) / len(a))
    assert abs(mean) < 0.2 and 1.8 < sd < 2.2
