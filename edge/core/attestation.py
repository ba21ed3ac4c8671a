"""The pre-entry gas attestation decision: "ventilate, test, then work".

The gateway signs an attestation for a space's padlock only when every gas has been in range for the configured
interval and every detector is fit to be believed (calibrated, bump-tested, not in fault). An attestation is
valid for at most 30 minutes; the padlock refuses an older one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from edge.core.clock import Now
from edge.core.gas import GasState
from edge.core.limits import Gas

# DESIGN, the confined-space flow: the padlock accepts a gas attestation signed within the last 30 minutes.
MAX_ATTESTATION_VALIDITY_S = 30 * 60


@dataclass(frozen=True, slots=True)
class AttestationPolicy:
    """How long the gases must have been in range, and how long the attestation lasts (≤ 30 min)."""

    in_range_for_s: float = 300.0  # engineering default; set per site or per permit
    validity_s: int = MAX_ATTESTATION_VALIDITY_S

    def __post_init__(self) -> None:
        if not 0 < self.validity_s <= MAX_ATTESTATION_VALIDITY_S:
            raise ValueError(f"attestation validity must be 1..{MAX_ATTESTATION_VALIDITY_S} s")
        if self.in_range_for_s < 0:
            raise ValueError("in_range_for_s must not be negative")


@dataclass(frozen=True, slots=True)
class DetectorHealth:
    """A detector's fitness: maintenance due dates (wall seconds; ``None`` = no record) and its fault status."""

    detector: str
    gases: frozenset[Gas]
    calibration_due: int | None
    bump_test_due: int | None
    fault: bool = False

    def blockers(self, wall: int) -> list[str]:
        """Why this detector's readings cannot vouch for entry at ``wall`` (empty if they can)."""
        out = []
        for what, due in (("calibration", self.calibration_due), ("bump test", self.bump_test_due)):
            if due is None:
                out.append(f"detector {self.detector}: no {what} record")
            elif wall >= due:
                out.append(f"detector {self.detector}: {what} overdue since {due}")
        if self.fault:
            out.append(f"detector {self.detector}: status or heartbeat says fault")
        return out


@dataclass(frozen=True, slots=True)
class AttestationDecision:
    """Whether to issue an attestation now; if granted, what it states and until when (wall seconds)."""

    granted: bool
    space: str
    reasons: tuple[str, ...]
    issued_at: int | None = None
    valid_until: int | None = None
    values: Mapping[Gas, float] | None = None  # each gas's last value, in its limit's unit


def decide_attestation(
    state: GasState, detectors: Sequence[DetectorHealth], policy: AttestationPolicy, now: Now
) -> AttestationDecision:
    """Grant only if every gas has been in range for ``policy.in_range_for_s`` and no detector blocks entry."""
    reasons: list[str] = []
    for detector in detectors:
        reasons += detector.blockers(now.wall)
    covered = {gas for d in detectors for gas in d.gases}
    reasons += [f"{gas.name}: no detector on record" for gas in state.gases if gas not in covered]
    if not state.in_range_for(policy.in_range_for_s):
        since = state.in_range_since
        held = "not in range now" if since is None else f"in range for {state.at - since:.0f} s only"
        reasons.append(f"gases {held}; {policy.in_range_for_s:g} s needed")
        reasons += state.reasons
    if reasons:
        return AttestationDecision(False, state.space, tuple(reasons))
    values = {gas: r.value for gas, r in state.gases.items() if r.value is not None}
    return AttestationDecision(
        True,
        state.space,
        (f"all gases in range for {state.at - (state.in_range_since or state.at):.0f} s",),
        issued_at=now.wall,
        valid_until=now.wall + policy.validity_s,
        values=values,
    )
