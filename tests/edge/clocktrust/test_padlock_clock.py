"""Padlock clock checks: in tolerance, drifted, reset, jumped — and never a time set from an untrusted clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edge.clocktrust.padlock import (
    PadlockClockAction,
    PadlockClockFinding,
    PadlockClockPolicy,
    PadlockSighting,
    check_padlock_clock,
    sighting_after_time_set,
)
from edge.clocktrust.trust import TimeSource, TrustedTime

NOW_S = 1_767_225_600
GATEWAY = TrustedTime(NOW_S * 1000, 200, TimeSource.NTP)


def test_in_tolerance() -> None:
    check = check_padlock_clock(NOW_S + 5, GATEWAY)
    assert (check.action, check.finding, check.offset_s) == (PadlockClockAction.OK, PadlockClockFinding.IN_TOLERANCE,
                                                             5.0)
    assert check.sighting == PadlockSighting(NOW_S + 5, NOW_S * 1000, 200)


def test_drifted_either_way_is_set() -> None:
    for offset in (-40, 40):
        check = check_padlock_clock(NOW_S + offset, GATEWAY)
        assert (check.action, check.finding) == (PadlockClockAction.SET_TIME, PadlockClockFinding.DRIFTED)
        assert check.offset_s == offset


def test_the_gateways_own_uncertainty_widens_the_tolerance() -> None:
    loose = TrustedTime(NOW_S * 1000, 30_000, TimeSource.CLOUD)
    assert check_padlock_clock(NOW_S + 35, loose).action is PadlockClockAction.OK
    assert check_padlock_clock(NOW_S + 42, loose).action is PadlockClockAction.SET_TIME


def test_a_reset_clock_is_set_whatever_came_before() -> None:
    for lock_time in (0, 946_684_800, 1_704_067_199):  # RTC epoch, 2000-01-01, one second before the floor
        check = check_padlock_clock(lock_time, GATEWAY, previous=PadlockSighting(NOW_S - 60, (NOW_S - 60) * 1000, 0))
        assert (check.action, check.finding) == (PadlockClockAction.SET_TIME, PadlockClockFinding.RESET)


def test_a_jump_is_reported_even_when_the_clock_lands_in_tolerance() -> None:
    previous = PadlockSighting(NOW_S - 3600 - 30, (NOW_S - 3600) * 1000, 200)  # was 30 s behind an hour ago
    check = check_padlock_clock(NOW_S, GATEWAY, previous=previous)
    assert (check.action, check.finding) == (PadlockClockAction.OK, PadlockClockFinding.JUMPED_FORWARD)
    back = check_padlock_clock(NOW_S - 600, GATEWAY, previous=PadlockSighting(NOW_S - 3600, (NOW_S - 3600) * 1000, 0))
    assert (back.action, back.finding) == (PadlockClockAction.SET_TIME, PadlockClockFinding.JUMPED_BACK)


def test_slow_drift_over_a_day_is_not_a_jump() -> None:
    day = 86_400
    previous = PadlockSighting(NOW_S - day, (NOW_S - day) * 1000, 200)
    check = check_padlock_clock(NOW_S + 8, GATEWAY, previous=previous)  # 8 s in a day: 93 ppm, a cheap crystal
    assert (check.action, check.finding) == (PadlockClockAction.OK, PadlockClockFinding.IN_TOLERANCE)


def test_our_own_correction_is_not_mistaken_for_a_jump() -> None:
    earlier = TrustedTime((NOW_S - 600) * 1000, 200, TimeSource.NTP)
    first = check_padlock_clock(NOW_S - 600 - 120, earlier)
    assert first.action is PadlockClockAction.SET_TIME
    kept = sighting_after_time_set(NOW_S - 600, earlier)
    after = check_padlock_clock(NOW_S + 1, GATEWAY, previous=kept)
    assert after.finding is PadlockClockFinding.IN_TOLERANCE


def test_policy_is_configurable() -> None:
    strict = PadlockClockPolicy(tolerance_s=1)
    assert check_padlock_clock(NOW_S + 5, GATEWAY, policy=strict).action is PadlockClockAction.SET_TIME


@given(st.integers(0, 2**32 - 1), st.none() | st.builds(PadlockSighting, st.integers(0, 2**32 - 1),
                                                         st.integers(0, 2**45), st.integers(0, 10**6)))
def test_an_untrusted_gateway_never_sets_a_padlock_clock(lock_time: int, previous: PadlockSighting | None) -> None:
    check = check_padlock_clock(lock_time, None, previous=previous)
    assert check.action is PadlockClockAction.WAIT and check.finding is PadlockClockFinding.GATEWAY_UNTRUSTED
    assert check.offset_s is None and check.sighting is None


@given(st.integers(-10, 10), st.integers(0, 5_000))
def test_a_clock_within_tolerance_is_never_set(offset: int, uncertainty_ms: int) -> None:
    gateway = TrustedTime(NOW_S * 1000, uncertainty_ms, TimeSource.NTP)
    assert check_padlock_clock(NOW_S + offset, gateway).action is PadlockClockAction.OK
