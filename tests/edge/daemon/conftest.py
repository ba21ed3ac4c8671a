"""Fixtures for the daemon tests: the gas simulator on the rig's serial line, and a daemon started in-process."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.daemon import Daemon
from edge.daemon.padlocks import HeldPushes
from fwsim.gas import GasSimulator, RtuPort
from fwsim.stage.edge_site import RunningClock, Site, scenario


async def no_ntp() -> None:
    """No NTP on the test machine as far as the daemon knows: only a signed cloud time makes its clock trusted."""
    return None


@pytest.fixture
async def gas(serial_pty: Any) -> AsyncIterator[tuple[GasSimulator, RunningClock]]:
    """Detector 1 and output module 10 on the far end of the line, scenario time running in real time."""
    clock = RunningClock()
    sim = GasSimulator(scenario(), units=[1], output_units=[10], clock=clock.clock, start_date=date.today())
    await sim.serve(RtuPort(serial_pty.b))
    clock.start()
    yield sim, clock
    await clock.stop()
    await sim.stop()


@pytest.fixture
def site(tmp_path: Any, serial_pty: Any) -> Site:
    return Site(tmp_path, serial_pty.a)


@pytest.fixture
async def daemon(site: Site, gas: Any) -> AsyncIterator[Daemon]:
    """A started daemon on the site's default config (attendant notices in ``daemon.announced``)."""
    announced: list[tuple[str, str, str]] = []
    d = Daemon(load_edge_config(site.write_config()), clock_keeper=ClockKeeper(ntp=no_ntp), pushes=HeldPushes(),
               announce=lambda *a: announced.append(a))
    d.announced = announced  # type: ignore[attr-defined]
    await d.start()
    yield d
    await stop_or_explain(d)


async def stop_or_explain(daemon: Daemon, timeout_s: float = 60.0) -> None:
    """``daemon.stop()``, failing with every pending task's stack if it hangs (rather than at the 5-min timeout
    with only the event loop's)."""
    stopping = asyncio.ensure_future(daemon.stop())
    done, _ = await asyncio.wait([stopping], timeout=timeout_s)
    if not done:
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            print(f"--- {task.get_name()}", file=stacks)
            task.print_stack(file=stacks)
        pytest.fail(f"Daemon.stop() hung for {timeout_s:.0f} s; pending tasks:\n{stacks.getvalue()}")
    stopping.result()
