"""Compare what a client read with a scenario's ``[[checks]]``: the list of differences, empty when it agrees."""

from __future__ import annotations

from fwsim.gas.scenario import Check
from protocols.gasprofile import DetectorSnapshot


def check_mismatches(check: Check, snapshot: DetectorSnapshot | None) -> list[str]:
    """Differences between ``check`` and what was read (``None``: no valid reply). Empty means it agrees."""
    where = f"unit {check.unit} at {check.at_s} s"
    if snapshot is None:
        return [] if check.reply == "none" else [f"{where}: no valid reply, expected one"]
    if check.reply == "none":
        return [f"{where}: got a reply, expected none"]
    out = []
    if check.calibration_due is not None and snapshot.status.calibration_due != check.calibration_due:
        out.append(f"{where}: calibration_due {snapshot.status.calibration_due}, expected {check.calibration_due}")
    if check.gas is None:
        return out
    reading = snapshot.reading(check.gas)
    where = f"{where} {check.gas}"
    if check.value is not None and (reading.value is None or abs(reading.value - check.value) > check.tolerance):
        out.append(f"{where}: value {reading.value}, expected {check.value} ± {check.tolerance}")
    if check.status is not None and reading.status != check.status:
        out.append(f"{where}: status {reading.status}, expected {check.status}")
    for flag in ("alarm1", "alarm2"):
        expected = getattr(check, flag)
        if expected is not None and getattr(reading, flag) != expected:
            out.append(f"{where}: {flag} {getattr(reading, flag)}, expected {expected}")
    return out
