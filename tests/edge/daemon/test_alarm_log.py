"""What an operator reading the daemon's log sees of a gas alarm: every transition, one line each, and the texts
on record name each alarm's own level, limit and value.

A lost link showed in the log, but gas alarms (raised, cleared, acknowledged) never did.
"""

from __future__ import annotations

from typing import Any

import structlog

from edge.core.alarms import AlarmKind
from edge.daemon import Daemon
from fwsim.stage.edge_site import SPACE, SPIKE_AT, SPIKE_END, Site
from tests.edge.daemon.site import outbox_rows
from tests.rig.waiting import eventually


def alarm_of(daemon: Daemon, kind: AlarmKind) -> Any:
    return next((a for a in daemon.alarms.open_alarms() if a.key.kind is kind), None)


def lines(logs: list[dict[str, Any]], event: str, alarm_id: int) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == event and e.get("alarm_id") == alarm_id]


async def test_every_gas_alarm_transition_is_a_log_line(daemon: Daemon, site: Site, gas: Any) -> None:
    _sim, clock = gas
    runner = daemon.spaces[SPACE]
    await eventually(lambda: runner.last_state and runner.last_state.all_in_range, what="gas in range")
    with structlog.testing.capture_logs() as logs:
        clock.jump(SPIKE_AT)  # H2S 25 ppm ≈ 35 mg/m³: beyond level 2 (20 mg/m³)
        level2 = await eventually(lambda: alarm_of(daemon, AlarmKind.GAS_LEVEL2), what="level-2 alarm")
        level1 = alarm_of(daemon, AlarmKind.GAS_LEVEL1)
        await eventually(lambda: lines(logs, "alarm raised", level2.id), what="level-2 raised line")
        await daemon.acknowledge(level1.id, "attendant:li")  # level 1: acknowledged while the gas is out
        clock.jump(SPIKE_END)
        await eventually(lambda: lines(logs, "alarm cleared", level2.id) and lines(logs, "alarm cleared", level1.id),
                         what="cleared lines")
        await daemon.acknowledge(level2.id, "attendant:li")
        await eventually(lambda: lines(logs, "alarm acknowledged", level2.id), what="level-2 acknowledged line")

    (raised2,) = lines(logs, "alarm raised", level2.id)
    assert raised2["log_level"] == "warning" and raised2["level"] == 2
    assert raised2["kind"] == "gas_level2" and raised2["subject"] == "H2S"
    assert raised2["space"] == SPACE and "level-2 limit 20 mg/m3" in raised2["reason"]
    (raised1,) = lines(logs, "alarm raised", level1.id)
    assert raised1["log_level"] == "warning" and raised1["level"] == 1
    assert "level-1 limit 10 mg/m3" in raised1["reason"] and "level-2" not in raised1["reason"]
    (ack1,) = lines(logs, "alarm acknowledged", level1.id)
    assert ack1["by"] == "attendant:li" and ack1["reason"].startswith("condition still present; raised for: H2S")
    assert lines(logs, "alarm cleared", level1.id)[0].get("closed") is True  # acknowledged before: now closed
    (ack2,) = lines(logs, "alarm acknowledged", level2.id)
    assert ack2["closed"] is True and ack2["reason"].startswith("condition cleared; raised for: H2S")

    assert daemon.outbox is not None
    await daemon.outbox.flush()
    records = {(b["cause"], b["state"]): b for _s, k, b in outbox_rows(site.state_dir) if k == "alarm"}
    assert "level-1 limit 10 mg/m3" in records[("gas_level1", "raised")]["detail"]
    assert "level-2" not in records[("gas_level1", "raised")]["detail"]
    assert "level-2 limit 20 mg/m3" in records[("gas_level2", "raised")]["detail"]
    assert records[("gas_level2", "acknowledged")]["detail"].startswith("condition cleared; raised for: H2S")
