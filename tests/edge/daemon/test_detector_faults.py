"""Detector faults through the running daemon: replies with a bad CRC, a sensor in fault, a heartbeat that stops.

Each on the simulator over a real serial line, twice: first before entry — the detector shows its fault
everywhere (an event, a log line, ``/healthz``, the telemetry) and no gas attestation is issued until it is
back — then in an open session, where it is an alarm within the detector's configured time, recorded in the
session and logged. While it lasts no reading is shown as valid.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import structlog

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.core.alarms import AlarmKind
from edge.core.gas import Level
from edge.daemon import Daemon
from edge.daemon.padlocks import HeldPushes
from fwsim.gas import GasSimulator, RtuPort, parse_scenario
from fwsim.stage.edge_site import LOCK, SPACE, RunningClock, Site
from protocols.gases import wire_name
from protocols.padlock.events import EventKind
from tests.edge.daemon.conftest import no_ntp, stop_or_explain
from tests.edge.daemon.site import outbox_rows
from tests.rig.waiting import eventually

POLL_S = 0.3  # the site's detector: polled every 0.3 s, timeout 0.3 s, no retry, comm-fault after 2 failed polls
FAIL_AFTER = 2
HEARTBEAT_TIMEOUT_S = 2.0
# Slack on top of the configured time for a shared, loaded test machine; the configured time is the claim.
SLACK_S = 8.0
FIRST, FIRST_END, SECOND = 1000.0, 1100.0, 2000.0  # scenario seconds: before entry, and in the session


@dataclass(frozen=True)
class Fault:
    name: str
    table: str  # the scenario tables putting unit 1 in this fault over [start, end)
    alarm: AlarmKind
    condition: str  # the detector's condition in /healthz and in the detector_fault event
    event: str  # the event record of the transition
    configured_s: float  # how soon the daemon must know, by its configuration
    gases: tuple[str, ...]  # the gases without a valid reading during the fault

    def scenario(self) -> str:
        intervals = "".join(self.table.format(start=a, end=b) for a, b in ((FIRST, FIRST_END), (SECOND, 100000)))
        return f"""
[scenario]
format = 1
name = "daemon_{self.name}"
description = "Clean air; unit 1 in {self.name} from {FIRST:g} to {FIRST_END:g} s and from {SECOND:g} s."
duration_s = 100000
seed = 7
{intervals}"""


ALL_GASES = ("O2", "H2S", "CO", "LEL")
FAULTS = [
    # Electrical noise on the bus: every reply fails its CRC; after FAIL_AFTER failed polls the link is lost.
    Fault("garbled_crc", '\n[[units.1.faults]]\nkind = "garbled_crc"\nstart_s = {start}\nend_s = {end}\n',
          AlarmKind.COMM_LOSS, "comm-fault", "detector_comm_fault", FAIL_AFTER * (POLL_S + 0.3) + POLL_S,
          ALL_GASES),
    # The H2S sensor reports fault: the very next poll says so.
    Fault("sensor_fault", '\n[[units.1.states]]\ngas = "H2S"\nstatus = "fault"\nstart_s = {start}\nend_s = {end}\n',
          AlarmKind.DETECTOR_FAULT, "sensor fault: H2S", "detector_fault", 2 * POLL_S, ("H2S",)),
    # The detector hangs: its registers still answer, plausible values and all, but the heartbeat stops.
    Fault("hung", '\n[[units.1.states]]\nstatus = "hung"\nstart_s = {start}\nend_s = {end}\n',
          AlarmKind.DETECTOR_FAULT, "heartbeat frozen", "detector_fault", HEARTBEAT_TIMEOUT_S + 2 * POLL_S,
          ALL_GASES),
]


@asynccontextmanager
async def running(site: Site, serial_pty: Any, fault: Fault) -> AsyncIterator[tuple[Daemon, RunningClock]]:
    clock = RunningClock()
    sim = GasSimulator(parse_scenario(fault.scenario(), origin=fault.name), units=[1], output_units=[10],
                       clock=clock.clock, start_date=date.today())
    await sim.serve(RtuPort(serial_pty.b))
    clock.start()
    config = site.write_config(poll_s=POLL_S, extra_detector=f"heartbeat_timeout_s = {HEARTBEAT_TIMEOUT_S}")
    daemon = Daemon(load_edge_config(config), clock_keeper=ClockKeeper(ntp=no_ntp), pushes=HeldPushes())
    await daemon.start()
    try:
        yield daemon, clock
    finally:
        await stop_or_explain(daemon)
        await clock.stop()
        await sim.stop()


def rows_after(site: Site, seq: int, kind: str, **match: Any) -> list[tuple[int, dict[str, Any]]]:
    return [(s, b) for s, k, b in outbox_rows(site.state_dir)
            if s > seq and k == kind and all(b.get(f) == v for f, v in match.items())]


def last_seq(site: Site) -> int:
    rows = outbox_rows(site.state_dir)
    return rows[-1][0] if rows else 0


def fault_alarm(daemon: Daemon, kind: AlarmKind) -> Any:
    return next((a for a in daemon.alarms.open_alarms() if a.key.kind is kind and a.active), None)


def nothing_shown_valid(daemon: Daemon, site: Site, fault: Fault, since: int) -> None:
    """While the fault lasts: the gases it touches are not at a valid level, and no telemetry after ``since``
    shows a value for them as a valid reading."""
    state = daemon.spaces[SPACE].last_state
    assert state is not None
    for gas in fault.gases:
        report = next(r for g, r in state.gases.items() if g.value == gas)
        assert report.level in (Level.FAULT, Level.STALE), (gas, report.level, report.reasons)
    for _seq, body in rows_after(site, since, "telemetry"):
        for reading in body["gases"]:
            if reading["gas"] in {wire_name(g) for g in fault.gases}:
                assert reading["value"] is None and "fault" in reading["flags"], body


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
async def test_a_detector_fault_is_shown_refuses_attestation_and_alarms_a_session(
        site: Site, serial_pty: Any, fault: Fault) -> None:
    async with running(site, serial_pty, fault) as (daemon, clock):
        runner = daemon.spaces[SPACE]
        health = lambda: daemon.health.component("detector:det-1")  # noqa: E731
        await eventually(lambda: runner.last_state and runner.last_state.all_in_range, what="gas in range")
        assert health().ok
        assert await daemon.submit_command(site.time_command()) == "applied"

        # 1. Before entry: the fault shows everywhere, and the gas test is refused while it lasts.
        seq = last_seq(site)
        with structlog.testing.capture_logs() as logs:
            clock.jump(FIRST)
            started = time.monotonic()
            (event_seq, event), *_ = await eventually(lambda: rows_after(site, seq, "event", type=fault.event),
                                                      what=f"{fault.event} event")
            seen_after = time.monotonic() - started
        assert seen_after <= fault.configured_s + SLACK_S, seen_after
        if fault.event == "detector_fault":
            assert event["data"]["condition"] == fault.condition
            # At once: the poll that found the fault recorded its telemetry already flagged, just before the event.
            telemetry_seq, telemetry = rows_after(site, event_seq - 2, "telemetry")[0]
            flagged = {r["gas"] for r in telemetry["gases"] if "fault" in r["flags"] and r["value"] is None}
            assert telemetry_seq == event_seq - 1 and flagged == {wire_name(g) for g in fault.gases}, telemetry
        status = health()
        assert not status.ok and status.detail == fault.condition  # /healthz says so
        assert any(e["event"] == "detector fault" and e["condition"] == fault.condition for e in logs), logs
        assert not fault_alarm(daemon, fault.alarm)  # no session yet: a fault blocks entry, it is no alarm

        polls = daemon.detectors["det-1"].poller.cycles
        assert await daemon.submit_command(site.permit_command(max_continuous_s=600)) == "applied"
        await eventually(lambda: daemon.detectors["det-1"].poller.cycles >= polls + 3, what="three more polls")
        # A sensor fault or frozen heartbeat flags the very poll that found it (recorded just before the event); a
        # lost link has no such poll, and the last good reading before it may sit just before the event.
        nothing_shown_valid(daemon, site, fault, event_seq - 2 if fault.event == "detector_fault" else event_seq)
        assert runner.session.phase.value == "authorized"
        assert not rows_after(site, seq, "event", type="attestation_issued")  # refused while in fault

        clock.jump(FIRST_END)  # the fault ends: the detector recovers and the gas test passes
        await eventually(lambda: rows_after(site, seq, "event", type="detector_recovered"), what="recovered")
        await eventually(lambda: rows_after(site, seq, "event", type="attestation_issued"), what="attestation")
        assert health().ok and runner.session.phase.value == "tested"

        # 2. In an open session: the fault is an alarm within the configured time, on record and in the log.
        assert await daemon.relay_audit(LOCK, [site.lock_entry(EventKind.OPENED)]) == 1
        await daemon.entrant_in(SPACE, "w-1")
        assert runner.session.is_open
        seq = last_seq(site)
        with structlog.testing.capture_logs() as logs:
            clock.jump(SECOND)
            started = time.monotonic()
            alarm = await eventually(lambda: fault_alarm(daemon, fault.alarm), what=f"{fault.alarm} alarm")
            alarmed_after = time.monotonic() - started
            # The record is durable before the outputs are set, the log line is written after them.
            raised = await eventually(lambda: rows_after(site, seq, "alarm", cause=fault.alarm.value, state="raised"),
                                      what="alarm record")
            await eventually(lambda: any(e["event"] == "alarm raised" and e["alarm_id"] == alarm.id for e in logs),
                             what="alarm log line")
        assert alarmed_after <= fault.configured_s + SLACK_S, alarmed_after
        assert alarm.key.subject == "det-1"
        assert len(raised) == 1 and raised[0][1]["session_id"] == runner.session_id
        assert raised[0][1]["detector_id"] == "det-1"
        line = next(e for e in logs if e["event"] == "alarm raised" and e["alarm_id"] == alarm.id)
        assert line["kind"] == fault.alarm.value and line["level"] == 2 and line["log_level"] == "warning"
        assert line["subject"] == "det-1" and line["session_id"] == runner.session_id
        polls = daemon.detectors["det-1"].poller.cycles
        await eventually(lambda: daemon.detectors["det-1"].poller.cycles >= polls + 3, what="three more polls")
        nothing_shown_valid(daemon, site, fault, raised[0][0])
        assert not health().ok
