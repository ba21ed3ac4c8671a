"""The pre-entry attestation: granted only on gases in range long enough and detectors fit to vouch."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.core.attestation import (
    MAX_ATTESTATION_VALIDITY_S,
    AttestationPolicy,
    DetectorHealth,
    decide_attestation,
)
from edge.core.clock import Now
from edge.core.gas import GasMonitor, Reading
from edge.core.limits import Gas, Unit, space_limits

WALL = 1_760_000_000
GASES = frozenset({Gas.O2, Gas.H2S})


def healthy(**kw) -> DetectorHealth:
    return DetectorHealth(**{"detector": "det-1", "gases": GASES, "calibration_due": WALL + 86400,
                             "bump_test_due": WALL + 3600, **kw})  # fmt: skip


def state_after(seconds: int, h2s: float = 0.0):
    m = GasMonitor("space-1", space_limits(GASES), 0.0)
    for t in range(seconds + 1):
        m.observe(Reading(Gas.O2, 20.9, Unit.PCT_VOL, float(t)))
        m.observe(Reading(Gas.H2S, h2s, Unit.MG_M3, float(t)))
    return m.evaluate(float(seconds))


def test_granted_after_the_interval_with_30_min_validity() -> None:
    d = decide_attestation(state_after(300), [healthy()], AttestationPolicy(300), Now(300.0, WALL))
    assert d.granted and d.issued_at == WALL and d.valid_until == WALL + MAX_ATTESTATION_VALIDITY_S
    assert d.values == {Gas.O2: 20.9, Gas.H2S: 0.0}


def test_refused_before_the_interval() -> None:
    d = decide_attestation(state_after(299), [healthy()], AttestationPolicy(300), Now(299.0, WALL))
    assert not d.granted and d.valid_until is None and "299 s only" in d.reasons[0]


def test_refused_out_of_range_with_the_gas_reason() -> None:
    d = decide_attestation(state_after(600, h2s=12.0), [healthy()], AttestationPolicy(300), Now(600.0, WALL))
    assert not d.granted and any("not in range now" in r for r in d.reasons)
    assert any("H2S 12" in r for r in d.reasons)


@pytest.mark.parametrize(
    ("health", "why"),
    [
        ({"calibration_due": WALL}, "calibration overdue"),
        ({"bump_test_due": WALL - 1}, "bump test overdue"),
        ({"calibration_due": None}, "no calibration record"),
        ({"fault": True}, "fault"),
        ({"gases": frozenset({Gas.O2})}, "H2S: no detector"),
    ],
)
def test_detector_fitness_blocks_entry(health: dict, why: str) -> None:
    d = decide_attestation(state_after(300), [healthy(**health)], AttestationPolicy(300), Now(300.0, WALL))
    assert not d.granted and any(why in r for r in d.reasons)


def test_validity_capped_at_30_minutes() -> None:
    with pytest.raises(ValueError):
        AttestationPolicy(validity_s=MAX_ATTESTATION_VALIDITY_S + 1)
    with pytest.raises(ValueError):
        AttestationPolicy(in_range_for_s=-1)


@given(st.integers(1, 3600), st.integers(0, 900))
def test_granted_iff_in_range_long_enough(validity_cap: int, interval: int) -> None:
    policy = AttestationPolicy(interval, min(validity_cap, MAX_ATTESTATION_VALIDITY_S))
    state = state_after(450)
    d = decide_attestation(state, [healthy()], policy, Now(450.0, WALL))
    assert d.granted == (interval <= 450)
    if d.granted:
        assert d.valid_until is not None and d.valid_until - WALL <= MAX_ATTESTATION_VALIDITY_S
