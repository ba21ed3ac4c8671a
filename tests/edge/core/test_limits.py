"""Limits: the cited defaults, ppm ↔ mg/m³, overrides that are never silently looser, detector set-point checks."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.core.limits import (
    DEFAULT_LIMITS,
    Band,
    Conditions,
    DetectorSetpoints,
    Gas,
    GasLimit,
    LimitError,
    LimitOverride,
    Unit,
    apply_override,
    check_detector_setpoints,
    mg_m3_to_ppm,
    ppm_to_mg_m3,
    space_limits,
    to_limit_unit,
)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
maybe = st.none() | finite


def test_defaults_are_chinas_figures() -> None:
    o2, ex, h2s, co = (DEFAULT_LIMITS[g] for g in (Gas.O2, Gas.FLAMMABLE, Gas.H2S, Gas.CO))
    assert (o2.unit, o2.level1) == (Unit.PCT_VOL, Band(19.5, 23.5))
    assert (ex.unit, ex.level1.high) == (Unit.PCT_LEL, 10.0)
    assert (h2s.unit, h2s.level1.high, h2s.level2.high) == (Unit.MG_M3, 10.0, 20.0)
    assert (co.level1.high, co.level2.high, co.stel, co.twa) == (20.0, 40.0, 30.0, 20.0)
    assert all(limit.source for limit in DEFAULT_LIMITS.values())


def test_molar_volume_at_reference_is_24_06() -> None:
    assert Conditions().molar_volume() == pytest.approx(24.06, abs=0.005)


def test_h2s_mac_is_about_7_ppm() -> None:
    assert mg_m3_to_ppm(10.0, Gas.H2S) == pytest.approx(7.06, abs=0.01)
    # A vendor default of 10 ppm H2S is 14.2 mg/m³: above the MAC.
    assert ppm_to_mg_m3(10.0, Gas.H2S) == pytest.approx(14.17, abs=0.01)


def test_warmer_air_gives_fewer_mg_per_ppm() -> None:
    assert ppm_to_mg_m3(10, Gas.CO, Conditions(35.0)) < ppm_to_mg_m3(10, Gas.CO, Conditions(20.0))


@given(st.floats(0, 1e5), st.floats(-40, 60), st.floats(80, 110), st.sampled_from([Gas.H2S, Gas.CO]))
def test_ppm_round_trip(ppm: float, t: float, p: float, gas: Gas) -> None:
    c = Conditions(t, p)
    assert mg_m3_to_ppm(ppm_to_mg_m3(ppm, gas, c), gas, c) == pytest.approx(ppm, rel=1e-9, abs=1e-9)


def test_no_molar_mass_for_oxygen() -> None:
    with pytest.raises(LimitError):
        ppm_to_mg_m3(1.0, Gas.O2)


def test_implausible_conditions_refused() -> None:
    with pytest.raises(LimitError):
        Conditions(temperature_c=500)


def test_to_limit_unit() -> None:
    h2s, ex, o2 = DEFAULT_LIMITS[Gas.H2S], DEFAULT_LIMITS[Gas.FLAMMABLE], DEFAULT_LIMITS[Gas.O2]
    assert to_limit_unit(5.0, Unit.MG_M3, h2s) == 5.0
    assert to_limit_unit(7.06, Unit.PPM, h2s) == pytest.approx(10.0, abs=0.01)
    assert to_limit_unit(0.5, Unit.PCT_VOL, ex, lel_pct_vol=5.0) == pytest.approx(10.0)
    assert to_limit_unit(209_000, Unit.PPM, o2) == pytest.approx(20.9)
    with pytest.raises(LimitError):
        to_limit_unit(0.5, Unit.PCT_VOL, ex)  # the LEL of the gas is needed
    with pytest.raises(LimitError):
        to_limit_unit(1.0, Unit.PCT_LEL, h2s)


def test_band_edges() -> None:
    band = Band(19.5, 23.5)
    assert band.contains(19.5) and band.contains(23.49)
    assert not band.contains(19.49) and not band.contains(23.5)  # an upper set-point trips on reaching it
    assert Band(high=10).distance_inside(7) == 3 and Band(19.5, 23.5).distance_inside(19.0) == -0.5
    assert str(Band(high=10)) == "< 10" and str(Band(19.5, 23.5)) == "19.5–23.5" and str(Band()) == "any"


@given(maybe, maybe, maybe, maybe, finite)
def test_looser_means_accepts_something_rejected(a_lo, a_hi, b_lo, b_hi, v) -> None:
    a, b = Band(a_lo, a_hi), Band(b_lo, b_hi)
    if a.contains(v) and not b.contains(v):
        assert a.looser_than(b)
    if not a.looser_than(b):
        assert not (a.contains(v) and not b.contains(v))


def test_stricter_override_accepted() -> None:
    limit = apply_override(DEFAULT_LIMITS[Gas.H2S], LimitOverride(level1=Band(high=5.0)))
    assert limit.level1.high == 5.0 and limit.level2.high == 20.0 and not limit.looser_than_default


@pytest.mark.parametrize(
    ("gas", "override"),
    [
        (Gas.H2S, LimitOverride(level1=Band(high=15.0), level2=Band(high=30.0))),
        (Gas.O2, LimitOverride(level1=Band(18.0, 23.5), level2=Band(18.0, 23.5))),
        (Gas.O2, LimitOverride(level1=Band(high=23.5), level2=Band(high=23.5))),
        (Gas.CO, LimitOverride(stel=60.0)),
        (Gas.CO, LimitOverride(twa=25.0)),
        (Gas.FLAMMABLE, LimitOverride(level2=Band(high=50.0))),
    ],
)
def test_looser_override_refused_unless_flagged(gas: Gas, override: LimitOverride) -> None:
    with pytest.raises(LimitError, match="looser"):
        apply_override(DEFAULT_LIMITS[gas], override)
    # the flag alone is not enough: a reason must be written down
    with pytest.raises(LimitError):
        apply_override(DEFAULT_LIMITS[gas], LimitOverride(**{**_fields(override), "allow_looser": True}))
    flagged = apply_override(
        DEFAULT_LIMITS[gas], LimitOverride(**{**_fields(override), "allow_looser": True, "reason": "plateau site"})
    )
    assert flagged.looser_than_default and "plateau site" in flagged.source


def _fields(o: LimitOverride) -> dict:
    return {k: getattr(o, k) for k in ("level1", "level2", "stel", "twa", "deadband")}


def test_inconsistent_levels_refused() -> None:
    with pytest.raises(LimitError, match="inside"):
        apply_override(DEFAULT_LIMITS[Gas.H2S], LimitOverride(level2=Band(high=5.0)))
    with pytest.raises(LimitError):
        GasLimit(Gas.CO, Unit.MG_M3, Band(high=1), Band(high=2), None, None, deadband=-1, source="x")
    with pytest.raises(LimitError):
        GasLimit(Gas.CO, Unit.MG_M3, Band(high=1), Band(high=2), 0.0, None, deadband=1, source="x")


@given(st.floats(0.1, 100), st.floats(0.1, 100))
def test_override_is_never_silently_looser(l1: float, l2: float) -> None:
    override = LimitOverride(level1=Band(high=min(l1, l2)), level2=Band(high=max(l1, l2)))
    try:
        limit = apply_override(DEFAULT_LIMITS[Gas.H2S], override)
    except LimitError:
        assert max(l1, l2) > 20.0 or min(l1, l2) > 10.0
    else:
        assert limit.level1.high <= 10.0 and limit.level2.high <= 20.0


def test_space_limits() -> None:
    limits = space_limits([Gas.O2, Gas.H2S], {Gas.H2S: LimitOverride(level1=Band(high=7.0))})
    assert set(limits) == {Gas.O2, Gas.H2S} and limits[Gas.H2S].level1.high == 7.0
    with pytest.raises(LimitError, match="not monitored"):
        space_limits([Gas.O2], {Gas.CO: LimitOverride()})


def test_vendor_ppm_setpoints_warn() -> None:
    limits = space_limits()
    vendor = DetectorSetpoints("det-1", Gas.H2S, Unit.PPM, Band(high=10.0), Band(high=20.0))
    warnings = check_detector_setpoints(vendor, limits)
    assert [w.gas for w in warnings] == [Gas.H2S, Gas.H2S]
    assert "det-1" in warnings[0].message and "level1" in warnings[0].message and "GBZ 2.1" in warnings[0].message
    strict = DetectorSetpoints("det-1", Gas.H2S, Unit.PPM, Band(high=7.0), Band(high=14.0))
    assert check_detector_setpoints(strict, limits) == []


def test_o2_detector_low_alarm_looser_warns() -> None:
    det = DetectorSetpoints("det-2", Gas.O2, Unit.PCT_VOL, Band(18.0, 23.5), Band(18.0, 23.5))
    assert len(check_detector_setpoints(det, space_limits())) == 2


def test_setpoints_for_unconfigured_gas_warn() -> None:
    det = DetectorSetpoints("det-3", Gas.CO, Unit.PPM, Band(high=1.0), Band(high=2.0))
    (warning,) = check_detector_setpoints(det, space_limits([Gas.O2]))
    assert "not configured" in warning.message


@given(st.floats(0.1, 200), st.floats(-10, 50))
def test_setpoint_warning_iff_converted_value_above_limit(ppm: float, t: float) -> None:
    c = Conditions(t)
    det = DetectorSetpoints("d", Gas.CO, Unit.PPM, Band(high=ppm), Band(high=2 * ppm))
    warnings = check_detector_setpoints(det, space_limits(), c)
    mg = ppm_to_mg_m3(ppm, Gas.CO, c)
    expected = (mg > 20.0) + (2 * ppm * 28.01 / c.molar_volume() > 40.0)
    assert len(warnings) == expected or math.isclose(mg, 20.0) or math.isclose(2 * mg, 40.0)
