"""The pure clock-trust state: sources, drift bound, boots, and the guarantee that trusted time is true time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.clocktrust.trust import (
    DEFAULT_DRIFT_PPM,
    ClockTrust,
    ClockUntrusted,
    Distrust,
    Reading,
    TimeSource,
)

BOOT = "boot-a"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms


def test_a_fresh_gateway_is_untrusted_and_stamps_records_with_its_wall_clock() -> None:
    trust = ClockTrust()
    reading = Reading(5.0, 946_684_800_000, BOOT)  # the Pi booted thinking it is 2000
    assert trust.why_untrusted(reading) is Distrust.NEVER_SET
    with pytest.raises(ClockUntrusted) as info:
        trust.trusted(reading)
    assert info.value.code == "never_set"
    assert trust.record_ms(reading) == (946_684_800_000, False)


def test_ntp_sync_anchors_and_time_then_runs_on_the_monotonic_clock() -> None:
    trust = ClockTrust().on_ntp(Reading(10.0, T0, BOOT), synced=True, maxerror_ms=20)
    later = Reading(70.0, T0 - 3_600_000, BOOT)  # someone set the wall clock back an hour: ignored
    t = trust.trusted(later)
    assert t.wall_ms == T0 + 60_000 and t.source is TimeSource.NTP
    assert t.uncertainty_ms == 24  # 20 ms + 60 s × 50 ppm = 23 ms, rounded up
    assert trust.record_ms(later) == (T0 + 60_000, True)


def test_unsynced_ntp_changes_nothing_and_unknown_bound_uses_the_default() -> None:
    trust = ClockTrust().on_ntp(Reading(1.0, T0, BOOT), synced=False, maxerror_ms=16_000)
    assert trust.anchor is None
    trust = trust.on_ntp(Reading(1.0, T0, BOOT), synced=True)
    assert trust.trusted(Reading(1.0, T0, BOOT)).uncertainty_ms == 1000


def test_trust_expires_as_the_drift_bound_grows() -> None:
    trust = ClockTrust(max_uncertainty_ms=10_000).on_ntp(Reading(0.0, T0, BOOT), synced=True, maxerror_ms=0)
    day = 86_400.0
    assert trust.why_untrusted(Reading(day, 0, BOOT)) is None  # 4.32 s after a day
    too_long = 10_000 / (DEFAULT_DRIFT_PPM / 1000) + 1  # seconds for the bound to pass 10 s
    assert trust.why_untrusted(Reading(too_long, 0, BOOT)) is Distrust.TOO_UNCERTAIN
    assert trust.record_ms(Reading(too_long, 0, BOOT))[1] is False


def test_a_reboot_voids_the_anchor() -> None:
    trust = ClockTrust().on_ntp(Reading(100.0, T0, BOOT), synced=True, maxerror_ms=5)
    assert trust.why_untrusted(Reading(3.0, T0, "boot-b")) is Distrust.OTHER_BOOT
    assert trust.estimate(Reading(3.0, T0, "boot-b")) is None


def test_cloud_time_bound_is_half_the_delay_plus_the_cloud_error() -> None:
    trust = ClockTrust().on_cloud_time(T0, Reading(50.0, 0, BOOT), delay_bound_ms=800, cloud_error_ms=100)
    t = trust.trusted(Reading(50.0, 0, BOOT))
    assert (t.wall_ms, t.uncertainty_ms, t.source) == (T0 + 400, 500, TimeSource.CLOUD)
    # An unsolicited command vouched for only by its 60-second lifetime is just inside the default bound.
    loose = ClockTrust().on_cloud_time(T0, Reading(50.0, 0, BOOT), delay_bound_ms=60_000)
    assert loose.why_untrusted(Reading(50.0, 0, BOOT)) is None
    with pytest.raises(ValueError):
        ClockTrust().on_cloud_time(T0, Reading(0.0, 0, BOOT), delay_bound_ms=-1)


def test_a_looser_agreeing_source_does_not_widen_a_good_bound() -> None:
    trust = ClockTrust().on_ntp(Reading(0.0, T0, BOOT), synced=True, maxerror_ms=10)
    looser = trust.on_cloud_time(T0 + 1_000, Reading(1.0, 0, BOOT), delay_bound_ms=10_000)
    assert looser.anchor == trust.anchor and looser.conflict_ms is None


def test_disagreeing_sources_follow_the_fresh_one_and_report_it() -> None:
    trust = ClockTrust().on_cloud_time(T0, Reading(0.0, 0, BOOT), delay_bound_ms=0, cloud_error_ms=100)
    moved = trust.on_ntp(Reading(10.0, T0 + 10_000 + 3_600_000, BOOT), synced=True, maxerror_ms=50)
    assert moved.anchor is not None and moved.anchor.source is TimeSource.NTP
    assert moved.conflict_ms == pytest.approx(3_600_000, abs=1)
    assert moved.trusted(Reading(10.0, 0, BOOT)).wall_ms == T0 + 3_610_000


def test_distrust_drops_the_anchor_until_a_source_comes() -> None:
    trust = ClockTrust().on_ntp(Reading(0.0, T0, BOOT), synced=True, maxerror_ms=10).distrust()
    assert trust.why_untrusted(Reading(1.0, T0, BOOT)) is Distrust.DISTRUSTED
    with pytest.raises(ClockUntrusted) as info:
        trust.trusted(Reading(1.0, T0, BOOT))
    assert info.value.code == "distrusted"
    assert trust.on_cloud_time(T0, Reading(2.0, 0, BOOT), delay_bound_ms=100).why_untrusted(
        Reading(2.0, 0, BOOT)) is None


# A simulated world: true time, a monotonic clock running off by at most the drift bound, honest sources.
events = st.lists(st.tuples(
    st.sampled_from(["ntp", "ntp_unsynced", "cloud", "look", "reboot"]),
    st.floats(0, 5 * 86_400),  # seconds of true time since the previous event
    st.floats(0, 1),  # where inside its bound the source's error falls (fraction, signed below)
    st.booleans(),
    st.floats(0, 30_000),  # a source's bound (ms)
), max_size=25)


@given(events, st.floats(-DEFAULT_DRIFT_PPM, DEFAULT_DRIFT_PPM), st.integers(-10**11, 10**11))
def test_trusted_time_is_always_within_its_bound_of_true_time(script: list[tuple[str, float, float, bool, float]],
                                                              drift_ppm: float, wall_error_ms: int) -> None:
    true_ms = float(T0)
    mono = 100.0
    boot = 0
    trust = ClockTrust()
    for kind, dt_s, frac, negative, bound_ms in script:
        true_ms += dt_s * 1000
        mono += dt_s * (1 + drift_ppm / 1e6)  # the crystal runs fast or slow within the bound
        error = frac * bound_ms * (-1 if negative else 1)
        reading = Reading(mono, int(true_ms + wall_error_ms), f"boot-{boot}")
        if kind == "reboot":
            boot += 1
            mono = 5.0
            continue
        if kind in ("ntp", "ntp_unsynced"):
            # When synchronised, the system wall clock is within the kernel's bound of true time.
            reading = Reading(mono, int(true_ms + error), f"boot-{boot}")
            trust = trust.on_ntp(reading, synced=kind == "ntp", maxerror_ms=bound_ms + 1)
        elif kind == "cloud":
            delay_ms = frac * bound_ms  # signed delay_ms before arrival, within the vouched bound
            trust = trust.on_cloud_time(int(true_ms - delay_ms), reading, delay_bound_ms=bound_ms + 1,
                                        cloud_error_ms=1)
        if trust.why_untrusted(reading) is None:
            t = trust.trusted(reading)
            assert abs(t.wall_ms - true_ms) <= t.uncertainty_ms + 1, (kind, t, true_ms)
            assert trust.conflict_ms is None  # honest sources never disagree beyond their bounds
