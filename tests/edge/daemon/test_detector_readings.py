"""A detector's poll as the gateway shows it: zero drift shows as 0, a frozen heartbeat takes every value away."""

from __future__ import annotations

from edge.core.gas import ReadingStatus as CoreStatus
from edge.core.limits import Gas
from edge.daemon.detectors import shown_snapshot, snapshot_readings
from edge.daemon.records import telemetry
from protocols.gasprofile import DetectorSnapshot, DeviceStatus, GasReading, ReadingStatus, load_profile

PROFILE = load_profile("generic-4gas")  # zero band: O2 0.5, flammable 3, H2S 1, CO 3 (below 0, still "ok")


def snapshot(h2s: float, co: float = 0.0, status: ReadingStatus = ReadingStatus.OK) -> DetectorSnapshot:
    readings = (GasReading("O2", "%VOL", 20.9, ReadingStatus.OK), GasReading("H2S", "ppm", h2s, status),
                GasReading("CO", "ppm", co, ReadingStatus.OK), GasReading("LEL", "%LEL", 0.0, ReadingStatus.OK))
    return DetectorSnapshot(profile="generic-4gas", status=DeviceStatus(), heartbeat=7, readings=readings)


def test_zero_drift_shows_as_zero() -> None:
    """A reading below zero within the zero band was shown (and written in alarm texts) as a negative value."""
    shown = shown_snapshot(PROFILE, snapshot(-0.4, co=-2.5), heartbeat_frozen=False)  # type: ignore[arg-type]
    assert [(r.gas, r.value) for r in shown.readings] == [("O2", 20.9), ("H2S", 0.0), ("CO", 0.0),
                                                         ("LEL", 0.0)]
    values = {g["gas"]: g["value"] for g in telemetry("s", "det-1", shown)[1]["gases"]}
    assert values == {"O2": 20.9, "H2S": 0.0, "CO": 0.0, "LEL": 0.0}
    readings = snapshot_readings(shown, PROFILE, "det-1", 5.0)  # type: ignore[arg-type]
    assert {r.gas: r.value for r in readings}[Gas.H2S] == 0.0
    untouched = snapshot(1.5)
    assert shown_snapshot(PROFILE, untouched, heartbeat_frozen=False) is untouched  # type: ignore[arg-type]


def test_a_frozen_heartbeat_takes_every_value_away() -> None:
    shown = shown_snapshot(PROFILE, snapshot(0.0), heartbeat_frozen=True)  # type: ignore[arg-type]
    assert shown.status.fault and shown.heartbeat == 7
    assert all(r.value is None and r.status == ReadingStatus.FAULT for r in shown.readings)
    body = telemetry("s", "det-1", shown)[1]
    assert "fault" in body["flags"] and all(g["value"] is None and "fault" in g["flags"] for g in body["gases"])
    readings = snapshot_readings(shown, PROFILE, "det-1", 5.0)  # type: ignore[arg-type]
    assert {r.status for r in readings} == {CoreStatus.FAULT}
