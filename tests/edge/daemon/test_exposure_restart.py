"""The STEL/TWA windows outlive a daemon restart: CO at a raised but below-alarm level, stop, start again, and
the restored averages are the ones from before the restart (not 0). A corrupt ``exposure.json`` is ignored."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.core.gas import Level
from edge.core.limits import Gas
from edge.daemon import Daemon
from edge.daemon.padlocks import HeldPushes
from fwsim.gas import GasSimulator, RtuPort, parse_scenario
from fwsim.stage.edge_site import SPACE, RunningClock, Site
from tests.edge.daemon.conftest import no_ntp, stop_or_explain
from tests.rig.waiting import eventually

CO_FROM, CO_UNTIL = 1000.0, 2000.0

# CO at 12 ppm (≈ 14 mg/m³: under level 1, 20 mg/m³) from CO_FROM to CO_UNTIL, when the test moves the clock there.
SCENARIO = f"""
[scenario]
format = 1
name = "exposure_restart"
description = "Clean air, then CO at a raised but not alarming level, then clean air."
duration_s = 100000
seed = 5

[units.1]
t90_s = {{ H2S = 1, O2 = 1, CO = 1, LEL = 1 }}

[units.1.gases.CO]
interpolation = "linear"
points = [[0, 0.0], [{CO_FROM}, 0.0], [{CO_FROM}, 12.0], [{CO_UNTIL}, 12.0], [{CO_UNTIL}, 0.0]]
"""


@pytest.fixture
async def co_gas(serial_pty: Any) -> AsyncIterator[RunningClock]:
    clock = RunningClock()
    sim = GasSimulator(parse_scenario(SCENARIO, origin="exposure_restart"), units=[1], output_units=[10],
                       clock=clock.clock, start_date=date.today())
    await sim.serve(RtuPort(serial_pty.b))
    clock.start()
    yield clock
    await clock.stop()
    await sim.stop()


def daemon_on(site: Site) -> Daemon:
    return Daemon(load_edge_config(site.write_config()), clock_keeper=ClockKeeper(ntp=no_ntp), pushes=HeldPushes())


def co_report(daemon: Daemon) -> Any:
    return daemon.spaces[SPACE].monitor.evaluate(daemon.now().mono).gases[Gas.CO]


async def test_exposure_outlives_a_restart(site: Site, co_gas: RunningClock) -> None:
    first = daemon_on(site)
    await first.start()
    try:
        await eventually(lambda: first.spaces[SPACE].last_state and first.spaces[SPACE].last_state.all_in_range,
                         what="gas in range")
        co_gas.jump(CO_FROM)
        await eventually(lambda: (co_report(first).value or 0) > 10, what="CO raised")
        await eventually(lambda: co_report(first).stel > 0.15, what="some exposure")  # ≈ 10 s at 14 mg/m³
        co_gas.jump(CO_UNTIL)  # the exposure stops growing, so before and after can be compared exactly
        await eventually(lambda: (co_report(first).value or 0) < 0.05, what="CO back to ≈ 0")
        report = co_report(first)
        assert report.level is Level.NORMAL and not report.stel_exceeded
        before = report.stel, report.twa
    finally:
        await stop_or_explain(first)
    saved = site.state_dir / "exposure.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_bytes())["spaces"][SPACE]["CO"]["twa"]["buckets"]

    again = daemon_on(site)
    await again.start()
    try:
        after = co_report(again)
        assert after.stel > 0.15 and after.twa > 0
        # Same integrals, mapped onto the wall clock and back: within one bucket's worth (10 s STEL, 60 s TWA of
        # 14 mg/m³), and in fact equal, but for the simulator's noise, since nothing has left the windows yet.
        assert after.stel == pytest.approx(before[0], abs=14 * 10 / 900)
        assert after.twa == pytest.approx(before[1], abs=14 * 60 / (8 * 3600))
        assert (after.stel, after.twa) == pytest.approx(before, rel=1e-3, abs=1e-4)
    finally:
        await stop_or_explain(again)


async def test_a_corrupt_exposure_file_is_ignored(site: Site, co_gas: RunningClock) -> None:
    site.state_dir.mkdir(mode=0o700, exist_ok=True)
    (site.state_dir / "exposure.json").write_text('{"version": 1, "spaces": {"' + SPACE + '": {"CO": {"unit": "mg')
    daemon = daemon_on(site)
    await daemon.start()
    try:
        await eventually(lambda: daemon.spaces[SPACE].last_state and daemon.spaces[SPACE].last_state.all_in_range,
                         what="gas in range")
        assert co_report(daemon).stel < 0.01  # nothing restored (only the simulator's noise since the start)
    finally:
        await stop_or_explain(daemon)
    assert json.loads((site.state_dir / "exposure.json").read_bytes())["version"] == 1  # rewritten on stop
