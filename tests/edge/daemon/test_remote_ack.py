"""Acknowledging a level-2 gas alarm needs a person once the gas is back in range, wherever they are: from the cloud
(a signed ``alarm_ack``), at the console or with the output module's button, an acknowledgement while the gas is
still out of range is refused with ``gas_present`` and the reason — never held and applied later by itself. A
level-1 alarm is acknowledged at once; an unknown alarm is ``unknown_alarm`` whatever the id's shape.
"""

from __future__ import annotations

import json
import time
from typing import Any

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.core.alarms import AlarmKind
from edge.daemon import Daemon
from edge.daemon.console import call
from edge.daemon.padlocks import HeldPushes
from fwsim.stage.edge_site import SPACE, SPIKE_AT, SPIKE_END, Site
from tests.edge.daemon.conftest import no_ntp, stop_or_explain
from tests.edge.daemon.site import outbox_rows
from tests.rig.waiting import eventually


def alarm_of(daemon: Daemon, kind: AlarmKind) -> Any:
    return next((a for a in daemon.alarms.open_alarms() if a.key.kind is kind), None)


def ack_command(site: Site, alarm_id: int | str, by: str) -> bytes:
    return site.command("alarm_ack", {"alarm_id": str(alarm_id), "by": by, "at_ms": time.time_ns() // 1_000_000,
                                      "space_id": SPACE})


def command_results(site: Site) -> list[dict[str, Any]]:
    return [b["data"] for _s, k, b in outbox_rows(site.state_dir) if k == "event" and b["type"] == "command_result"]


async def test_a_level2_acknowledgement_is_refused_while_the_gas_is_out(daemon: Daemon, site: Site, gas: Any) -> None:
    sim, clock = gas
    await eventually(lambda: daemon.spaces[SPACE].last_state and daemon.spaces[SPACE].last_state.all_in_range,
                     what="gas in range")
    assert await daemon.submit_command(site.time_command()) == "applied"
    assert await daemon.submit_command(ack_command(site, 999, "att1")) == "unknown_alarm"  # no such alarm
    assert await daemon.submit_command(ack_command(site, "a1b2", "att1")) == "unknown_alarm"  # same, other shape
    clock.jump(SPIKE_AT)
    level2 = await eventually(lambda: alarm_of(daemon, AlarmKind.GAS_LEVEL2), what="level-2 alarm")
    level1 = alarm_of(daemon, AlarmKind.GAS_LEVEL1)
    assert level1 is not None

    assert await daemon.submit_command(ack_command(site, level1.id, "att1")) == "applied"
    assert alarm_of(daemon, AlarmKind.GAS_LEVEL1).acknowledged_by == "att1"  # level 1: at once
    assert await daemon.submit_command(ack_command(site, level2.id, "att1")) == "gas_present"
    sock = site.state_dir / "console.sock"
    answer = await call(sock, {"op": "ack", "alarm_id": level2.id, "by": "att2"})
    assert answer["ok"] is False and answer["error"] == "gas_present" and "gas still present" in answer["detail"]
    sim.output_module(10).press("ack")  # the button at the hatch: refused too, and the attendant is told why
    await eventually(lambda: any(kind == "notice" and "gas still present" in text
                                 for _s, kind, text in daemon.announced),  # type: ignore[attr-defined]
                     what="the refusal announced at the hatch")
    sim.output_module(10).release("ack")
    assert not alarm_of(daemon, AlarmKind.GAS_LEVEL2).acknowledged
    assert siren_on(sim)

    clock.jump(SPIKE_END)
    await eventually(lambda: not alarm_of(daemon, AlarmKind.GAS_LEVEL2).active, what="the gas back in range")
    await eventually(lambda: siren_on(sim), what="the siren sounding on: nobody has acknowledged")
    assert alarm_of(daemon, AlarmKind.GAS_LEVEL2) is not None  # cleared but latched: no acknowledgement was held
    assert await daemon.submit_command(ack_command(site, level2.id, "att1")) == "applied"  # a person, now
    assert alarm_of(daemon, AlarmKind.GAS_LEVEL2) is None
    assert daemon.outbox is not None
    await daemon.outbox.flush()
    rows = outbox_rows(site.state_dir)
    steps = [(b["state"], b.get("by")) for _s, k, b in rows if k == "alarm" and b["cause"] == "gas_level2"]
    assert steps[0] == ("raised", None) and steps[-1] == ("acknowledged", "att1")
    assert steps.index(("acknowledged", "att1")) > steps.index(("cleared", None))
    assert [r["result"] for r in command_results(site)] == ["applied", "unknown_alarm", "unknown_alarm", "applied",
                                                           "gas_present", "applied"]


def siren_on(sim: Any) -> bool:
    return bool(sim.output_module(10).coils["siren"])


async def test_a_held_acknowledgement_from_an_older_version_is_dropped_on_restart(daemon: Daemon, site: Site,
                                                                                gas: Any) -> None:
    _sim, clock = gas
    await eventually(lambda: daemon.spaces[SPACE].last_state and daemon.spaces[SPACE].last_state.all_in_range,
                     what="gas in range")
    clock.jump(SPIKE_AT)
    level2 = await eventually(lambda: alarm_of(daemon, AlarmKind.GAS_LEVEL2), what="level-2 alarm")
    await daemon.stop()
    state = site.state_dir / "state.json"
    data = json.loads(state.read_text())
    data["held_acks"] = {str(level2.id): "att1"}  # what an older gateway persisted for a remote acknowledgement
    state.write_text(json.dumps(data))

    again = Daemon(load_edge_config(site.write_config()), clock_keeper=ClockKeeper(ntp=no_ntp), pushes=HeldPushes())
    await again.start()
    try:
        clock.jump(SPIKE_END)
        await eventually(lambda: not alarm_of(again, AlarmKind.GAS_LEVEL2).active, what="the gas back in range")
        await eventually(lambda: again.spaces[SPACE].last_state and again.spaces[SPACE].last_state.all_in_range,
                         what="evaluated in range")
        restored = alarm_of(again, AlarmKind.GAS_LEVEL2)
        assert restored is not None and not restored.acknowledged  # latched until a person acknowledges
    finally:
        await stop_or_explain(again)
    assert "held_acks" not in json.loads(state.read_text())  # not carried on
