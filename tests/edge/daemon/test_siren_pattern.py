"""The siren's two patterns on the real gas simulator's output module, over the serial line: a storage fault alone
pulses the siren under a steady beacon; an H2S spike makes it continuous (evacuation wins); once the gas is gone
and its alarms acknowledged the fault's pulses come back; acknowledging the fault silences the siren and leaves
the beacon until the fault clears. A module that loses its coils (a restart) comes back in the pattern.

The pulse is shortened through the module's config (0.3 s every 1 s) so the test watches several periods.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import time
from typing import Any

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.core.alarms import AlarmError, AlarmKind
from edge.daemon import Daemon
from edge.daemon.padlocks import HeldPushes
from fwsim.stage.edge_site import SPACE, SPIKE_AT, SPIKE_END, Site
from tests.edge.daemon.conftest import no_ntp, stop_or_explain
from tests.edge.daemon.test_inputs import open_session
from tests.rig.waiting import eventually

PULSE_ON_S, PULSE_PERIOD_S = 0.3, 1.0
GAS_KINDS = {AlarmKind.GAS_LEVEL1, AlarmKind.GAS_LEVEL2, AlarmKind.STEL, AlarmKind.TWA}


async def watch(sim: Any, seconds: float) -> list[tuple[bool, bool]]:
    """(siren, beacon) coils sampled every 50 ms for ``seconds``."""
    module = sim.output_module(10)
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        coils = module.coils
        samples.append((coils["siren"], coils["beacon"]))
        await asyncio.sleep(0.05)
    return samples


def rising_edges(samples: list[tuple[bool, bool]]) -> int:
    return sum(1 for (a, _), (b, _) in itertools.pairwise(samples) if b and not a)


def assert_pulsing(samples: list[tuple[bool, bool]]) -> None:
    assert all(beacon for _s, beacon in samples), "the beacon stays on"
    assert rising_edges(samples) >= 2, f"the siren pulses: {''.join('#' if s else '.' for s, _b in samples)}"
    # Mostly off: a pulse, not a tone with gaps (0.3 s in 1 s; generous for the line's latency under load).
    assert sum(s for s, _b in samples) < 0.75 * len(samples)


def open_of(daemon: Daemon, kinds: set[AlarmKind]) -> list[Any]:
    return [a for a in daemon.alarms.open_alarms() if a.key.kind in kinds]


def knock_out(sim: Any) -> None:
    """The module restarts: every coil off (as at power-up)."""
    module = sim.output_module(10)
    for channel in module.profile.outputs.values():
        module.write_coils(channel.coil, [False])


async def test_a_storage_fault_pulses_the_siren_and_gas_makes_it_continuous(site: Site, gas: Any) -> None:
    sim, clock = gas
    config = site.write_config(extra_module=f"fault_pulse_on_s = {PULSE_ON_S}\n"
                                            f"fault_pulse_period_s = {PULSE_PERIOD_S}")
    daemon = Daemon(load_edge_config(config), clock_keeper=ClockKeeper(ntp=no_ntp), pushes=HeldPushes())
    await daemon.start()
    try:
        await open_session(daemon, site)
        assert daemon.outbox is not None
        outbox = daemon.outbox
        real_commit = outbox._commit  # the outbox's one seam to the disk
        failing = True

        async def commit(batch: Any) -> None:
            if failing:
                raise sqlite3.OperationalError("database or disk is full")
            await real_commit(batch)

        outbox._commit = commit  # type: ignore[method-assign]
        fault = await eventually(lambda: open_of(daemon, {AlarmKind.GATEWAY_FAULT}), what="the gateway-fault alarm")
        assert not open_of(daemon, GAS_KINDS)
        await eventually(lambda: sim.output_module(10).coils["beacon"], what="the beacon for the fault")
        assert_pulsing(await watch(sim, 3 * PULSE_PERIOD_S))

        # A module that restarts comes back in the pattern: the re-assertion (refresh_s, 2 s) rewrites the beacon
        # and the siren in its current phase, and the edges go on.
        knock_out(sim)
        await eventually(lambda: sim.output_module(10).coils["beacon"], timeout_s=5, what="the beacon re-asserted")
        assert_pulsing(await watch(sim, 3 * PULSE_PERIOD_S))

        # Gas: the evacuation tone, whatever the fault does.
        clock.jump(SPIKE_AT)
        await eventually(lambda: open_of(daemon, {AlarmKind.GAS_LEVEL2}), what="the level-2 H2S alarm")
        await eventually(lambda: sim.output_module(10).coils["siren"], what="the siren for the gas")
        steady = await watch(sim, 2 * PULSE_PERIOD_S)
        assert all(siren and beacon for siren, beacon in steady), "continuous for gas, no pulses"
        knock_out(sim)  # a module restart during the evacuation: back on within refresh_s (2 s)
        await eventually(lambda: sim.output_module(10).coils["siren"], timeout_s=5, what="the siren re-asserted")

        # Gas gone and its alarms acknowledged: the fault, still unacknowledged, pulses again.
        clock.jump(SPIKE_END + 5)

        async def gas_settled() -> bool:
            for alarm in open_of(daemon, GAS_KINDS):
                if not alarm.acknowledged:
                    with contextlib.suppress(AlarmError):  # level 2 refused until the gas is back in range
                        await daemon.acknowledge(alarm.id, "att1")
            return not open_of(daemon, GAS_KINDS)

        deadline = time.monotonic() + 20
        while not await gas_settled():
            assert time.monotonic() < deadline, f"gas alarms still open: {open_of(daemon, GAS_KINDS)}"
            await asyncio.sleep(0.1)
        assert [a.key.kind for a in daemon.alarms.open_alarms() if a.key.space == SPACE] == [AlarmKind.GATEWAY_FAULT]
        assert_pulsing(await watch(sim, 3 * PULSE_PERIOD_S))

        # The fault acknowledged: as any alarm, the siren stops (and stays off), the beacon stays while it is open.
        await daemon.acknowledge(fault[0].id, "att1")
        await eventually(lambda: not sim.output_module(10).coils["siren"], what="the siren silenced")
        quiet = await watch(sim, 2 * PULSE_PERIOD_S)
        assert all(beacon and not siren for siren, beacon in quiet), "no pulse left on after the acknowledgement"

        failing = False  # storage recovers: the acknowledged fault clears and closes, the beacon goes off
        await eventually(lambda: not open_of(daemon, {AlarmKind.GATEWAY_FAULT}), what="the fault closed")
        await eventually(lambda: not sim.output_module(10).coils["beacon"], what="the beacon off")
        assert not sim.output_module(10).coils["siren"]
    finally:
        await stop_or_explain(daemon, timeout_s=20)
