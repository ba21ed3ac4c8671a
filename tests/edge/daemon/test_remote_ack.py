"""An attendant's acknowledgement from the cloud (a signed ``alarm_ack``): a level-1 gas alarm is acknowledged at
once, a level-2 one is held while the gas is out of range and applied when it is back; unknown alarms are refused.
"""

from __future__ import annotations

import time
from typing import Any

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.core.alarms import AlarmKind
from edge.daemon import Daemon
from edge.daemon.padlocks import HeldPushes
from tests.edge.daemon.conftest import no_ntp, stop_or_explain
from tests.edge.daemon.site import SPACE, SPIKE_AT, SPIKE_END, Site, eventually, outbox_rows


def alarm_of(daemon: Daemon, kind: AlarmKind) -> Any:
    return next((a for a in daemon.alarms.open_alarms() if a.key.kind is kind), None)


def ack_command(site: Site, alarm_id: int, by: str) -> bytes:
    return site.command("alarm_ack", {"alarm_id": str(alarm_id), "by": by, "at_ms": time.time_ns() // 1_000_000,
                                      "space_id": SPACE})


async def test_a_level2_acknowledgement_waits_for_the_gas(daemon: Daemon, site: Site, gas: Any) -> None:
    sim, clock = gas
    await eventually(lambda: daemon.spaces[SPACE].last_state and daemon.spaces[SPACE].last_state.all_in_range,
                     what="gas in range")
    assert await daemon.submit_command(site.time_command()) == "applied"
    assert await daemon.submit_command(ack_command(site, 999, "att1")) == "refused"  # no such alarm
    clock.jump(SPIKE_AT)
    level2 = await eventually(lambda: alarm_of(daemon, AlarmKind.GAS_LEVEL2), what="level-2 alarm")
    level1 = alarm_of(daemon, AlarmKind.GAS_LEVEL1)
    assert level1 is not None

    assert await daemon.submit_command(ack_command(site, level1.id, "att1")) == "applied"
    assert alarm_of(daemon, AlarmKind.GAS_LEVEL1).acknowledged_by == "att1"  # level 1: at once
    assert await daemon.submit_command(ack_command(site, level2.id, "att1")) == "applied"
    assert daemon.held_acks == {level2.id: "att1"}
    assert not alarm_of(daemon, AlarmKind.GAS_LEVEL2).acknowledged  # the gas is still out of range
    await eventually(lambda: sim.output_module(10).coils["siren"], what="the siren still sounding")

    clock.jump(SPIKE_END)
    await eventually(lambda: alarm_of(daemon, AlarmKind.GAS_LEVEL2) is None and not daemon.held_acks,
                     what="level 2 acknowledged and closed")
    assert daemon.outbox is not None
    await daemon.outbox.flush()
    rows = outbox_rows(site.state_dir)
    steps = [(b["state"], b.get("by")) for _s, k, b in rows if k == "alarm" and b["cause"] == "gas_level2"]
    assert steps[0] == ("raised", None) and ("acknowledged", "att1") in steps
    assert steps.index(("acknowledged", "att1")) > steps.index(("cleared", None))  # only once the gas was back
    held = [b for _s, k, b in rows if k == "event" and b["type"] == "alarm_ack_held"]
    assert len(held) == 1 and held[0]["data"]["alarm_id"] == level2.id


async def test_a_held_acknowledgement_outlives_a_restart(daemon: Daemon, site: Site, gas: Any) -> None:
    _sim, clock = gas
    await eventually(lambda: daemon.spaces[SPACE].last_state and daemon.spaces[SPACE].last_state.all_in_range,
                     what="gas in range")
    assert await daemon.submit_command(site.time_command()) == "applied"
    clock.jump(SPIKE_AT)
    level2 = await eventually(lambda: alarm_of(daemon, AlarmKind.GAS_LEVEL2), what="level-2 alarm")
    assert await daemon.submit_command(ack_command(site, level2.id, "att1")) == "applied"
    await daemon.stop()

    again = Daemon(load_edge_config(site.write_config()), clock_keeper=ClockKeeper(ntp=no_ntp), pushes=HeldPushes())
    await again.start()
    try:
        assert again.held_acks == {level2.id: "att1"}
        restored = alarm_of(again, AlarmKind.GAS_LEVEL2)
        # No reading yet after the restart: an unknown concentration is not a cleared one.
        assert restored.active and not restored.acknowledged
        clock.jump(SPIKE_END)
        await eventually(lambda: alarm_of(again, AlarmKind.GAS_LEVEL2) is None and not again.held_acks,
                         what="level 2 acknowledged and closed")
        assert again.outbox is not None
        await again.outbox.flush()
    finally:
        await stop_or_explain(again)
    rows = outbox_rows(site.state_dir)
    steps = [(b["state"], b.get("by")) for _s, k, b in rows if k == "alarm" and b["cause"] == "gas_level2"]
    assert steps.index(("acknowledged", "att1")) > steps.index(("cleared", None))
