"""Is a padlock's clock right? Pure: compares the time a padlock reports with the gateway's trusted time.

The gateway is the padlocks' time source. A padlock clock that reads before ``reset_before`` has restarted from
its epoch (dead or replaced battery); one that moved much more or less than real time since the last look has
jumped; one off by more than the tolerance has drifted. Any of these, beyond the tolerance, is corrected with a
signed time set — but only from a trusted gateway clock: without one the answer is to wait, never to guess.
Note for the adapter: a lock whose clock is set *back* keeps its trusted-time floor until its clock passes it
(padlock protocol §8), so a forward jump is corrected on the clock at once but on the floor only with time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from edge.clocktrust.trust import TrustedTime

#: 2024-01-01T00:00:00Z: no SafeGrid padlock was made before it, so an earlier clock has reset.
DEFAULT_RESET_BEFORE_S = 1_704_067_200


class PadlockClockAction(StrEnum):
    OK = "ok"
    SET_TIME = "set_time"  # push a signed time set (after a TIME_SET challenge)
    WAIT = "wait_for_trusted_clock"  # the gateway's own clock is not trusted: push nothing


class PadlockClockFinding(StrEnum):
    IN_TOLERANCE = "in_tolerance"
    DRIFTED = "drifted"
    RESET = "reset"
    JUMPED_FORWARD = "jumped_forward"
    JUMPED_BACK = "jumped_back"
    GATEWAY_UNTRUSTED = "gateway_untrusted"


@dataclass(frozen=True, slots=True)
class PadlockClockPolicy:
    tolerance_s: float = 10.0  # offset allowed beyond the gateway's own error bound
    reset_before_s: int = DEFAULT_RESET_BEFORE_S
    max_rate_ppm: float = 200.0  # a padlock RTC (a cheap crystal) drifts far less than this


@dataclass(frozen=True, slots=True)
class PadlockSighting:
    """One comparison kept per padlock, so the next one can tell drift from a jump."""

    lock_time_s: int
    gateway_ms: int
    gateway_uncertainty_ms: int


@dataclass(frozen=True, slots=True)
class PadlockClockCheck:
    action: PadlockClockAction
    finding: PadlockClockFinding
    offset_s: float | None  # padlock minus gateway; None when the gateway clock is not trusted
    sighting: PadlockSighting | None  # to keep for the next check (None: keep the previous one)
    detail: str


def check_padlock_clock(lock_time_s: int, gateway: TrustedTime | None, *,
                        previous: PadlockSighting | None = None,
                        policy: PadlockClockPolicy | None = None) -> PadlockClockCheck:
    """Judge a padlock's reported time (unix seconds, whole) against the gateway's trusted time.

    ``gateway`` is :meth:`ClockTrust.trusted` (None when it raised): with no trusted time nothing is judged.
    ``previous`` is the sighting kept from the last check of this padlock, or the one recorded after a time set.
    """
    policy = policy or PadlockClockPolicy()
    if gateway is None:
        return PadlockClockCheck(PadlockClockAction.WAIT, PadlockClockFinding.GATEWAY_UNTRUSTED, None, None,
                                 "the gateway clock is not trusted: the padlock clock is left alone")
    offset_s = lock_time_s - gateway.wall_ms / 1000
    # The padlock reports whole seconds: allow one second of truncation besides the gateway's own bound.
    allowed_s = policy.tolerance_s + gateway.uncertainty_ms / 1000 + 1
    sighting = PadlockSighting(lock_time_s, gateway.wall_ms, gateway.uncertainty_ms)
    off = abs(offset_s) > allowed_s
    action = PadlockClockAction.SET_TIME if off else PadlockClockAction.OK

    if lock_time_s < policy.reset_before_s:
        return PadlockClockCheck(PadlockClockAction.SET_TIME, PadlockClockFinding.RESET, offset_s, sighting,
                                 f"padlock clock reads {lock_time_s}, before {policy.reset_before_s}: it has reset")
    if previous is not None and gateway.wall_ms > previous.gateway_ms:
        gateway_elapsed_s = (gateway.wall_ms - previous.gateway_ms) / 1000
        lock_elapsed_s = lock_time_s - previous.lock_time_s
        slack_s = (2 + gateway_elapsed_s * policy.max_rate_ppm / 1e6
                   + (gateway.uncertainty_ms + previous.gateway_uncertainty_ms) / 1000)
        jump_s = lock_elapsed_s - gateway_elapsed_s
        if abs(jump_s) > slack_s:
            finding = PadlockClockFinding.JUMPED_FORWARD if jump_s > 0 else PadlockClockFinding.JUMPED_BACK
            return PadlockClockCheck(action, finding, offset_s, sighting,
                                     f"padlock clock moved {lock_elapsed_s:.0f} s while {gateway_elapsed_s:.0f} s "
                                     f"passed (jump of {jump_s:+.0f} s); offset now {offset_s:+.1f} s")
    if off:
        return PadlockClockCheck(action, PadlockClockFinding.DRIFTED, offset_s, sighting,
                                 f"padlock clock is {offset_s:+.1f} s off (allowed ±{allowed_s:.1f} s)")
    return PadlockClockCheck(action, PadlockClockFinding.IN_TOLERANCE, offset_s, sighting,
                             f"padlock clock within ±{allowed_s:.1f} s ({offset_s:+.1f} s)")


def sighting_after_time_set(set_time_s: int, gateway: TrustedTime) -> PadlockSighting:
    """What to keep after the padlock accepted a time set, so the correction is not mistaken for a jump."""
    return PadlockSighting(set_time_s, gateway.wall_ms, gateway.uncertainty_ms)
