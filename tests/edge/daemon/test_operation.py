"""A scripted confined-space operation through the daemon, with the gas simulator on a real serial line.

Pre-entry gas in range → attestation issued → the padlock's signed "opened" entry → entrants check in → an H2S
spike raises the alarms and drives the siren coil (read back on the simulated output module) → acknowledged at
the module's button once the gas is back → overtime warning and alarm → entrants out → padlock closed →
session closed. The outbox holds every record exactly once, numbered without a gap, in the order of events.
"""

from __future__ import annotations

from typing import Any

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.daemon import Daemon
from edge.daemon.padlocks import HeldPushes
from protocols.padlock.events import EventKind
from protocols.padlock.pushes import verify_gas_attestation
from tests.edge.daemon.conftest import no_ntp
from tests.edge.daemon.site import LOCK, PERMIT, SPACE, SPIKE_AT, SPIKE_END, Site, eventually


def kinds(rows: list[tuple[int, str, dict[str, Any]]], kind: str, **match: Any) -> list[dict[str, Any]]:
    return [body for _seq, k, body in rows if k == kind and all(body.get(f) == v for f, v in match.items())]


def first_seq(rows: list[tuple[int, str, dict[str, Any]]], kind: str, **match: Any) -> int:
    return next(seq for seq, k, body in rows if k == kind and all(body.get(f) == v for f, v in match.items()))


async def test_scripted_operation(tmp_path: Any, serial_pty: Any, gas: Any) -> None:
    sim, clock = gas
    site = Site(tmp_path, serial_pty.a)
    config = load_edge_config(site.write_config())
    pushes = HeldPushes()
    announced: list[tuple[str, str, str]] = []
    daemon = Daemon(config, clock_keeper=ClockKeeper(ntp=no_ntp), pushes=pushes,
                    announce=lambda *a: announced.append(a))
    await daemon.start()
    session = lambda: daemon.spaces[SPACE].session  # noqa: E731
    siren = lambda: sim.output_module(10).coils["siren"]  # noqa: E731
    try:
        await eventually(lambda: daemon.spaces[SPACE].last_state and daemon.spaces[SPACE].last_state.all_in_range,
                         what="gas in range")
        # The clock is trusted only by a signed cloud time; then the permit arrives as a signed command.
        assert await daemon.submit_command(site.time_command()) == "applied"
        assert await daemon.submit_command(site.permit_command(max_continuous_s=20)) == "applied"
        await eventually(lambda: session().phase.value == "tested", what="pre-entry test passed")
        signed = await eventually(lambda: pushes.latest.get((LOCK, "gas_attestation")), what="attestation")
        attestation = verify_gas_attestation(signed, gateway_key=site.gateway_key.public_key())
        assert attestation.space_id.hex() == SPACE and attestation.all_in_range

        assert await daemon.relay_audit(LOCK, [site.lock_entry(EventKind.OPENED)]) == 1
        assert session().phase.value == "in_work" and session().deadline is not None
        await daemon.entrant_in(SPACE, "w-1")
        await daemon.entrant_in(SPACE, "w-2")

        clock.jump(SPIKE_AT)
        await eventually(lambda: any(a.key.kind.value == "gas_level2" for a in daemon.alarms.open_alarms()),
                         what="H2S level-2 alarm")
        await eventually(siren, what="siren coil on")
        assert sim.output_module(10).coils["beacon"] and sim.output_module(10).coils["fan_1"]
        assert any(kind == "evacuate" for _space, kind, _msg in announced)

        clock.jump(SPIKE_END)
        await eventually(lambda: not any(a.active and a.key.kind.value.startswith("gas_")
                                         for a in daemon.alarms.open_alarms()), what="H2S back in range")
        sim.output_module(10).press("ack")
        await eventually(lambda: not siren(), what="siren silenced by the acknowledge button")
        sim.output_module(10).release("ack")
        assert not any(a.key.kind.value.startswith("gas_") for a in daemon.alarms.open_alarms())

        await eventually(lambda: session().phase.value == "overtime", timeout_s=40, what="overtime")
        await eventually(siren, what="siren for overtime")
        await daemon.entrant_out(SPACE, "w-1")
        await daemon.entrant_out(SPACE, "w-2")
        assert await daemon.relay_audit(LOCK, [site.lock_entry(EventKind.CLOSED)]) == 1
        assert session().phase.value == "closed"

        assert daemon.outbox is not None
        await daemon.outbox.flush()
        pending = await daemon.outbox.pending(100_000)
    finally:
        await daemon.stop()

    rows = [(r.seq, r.kind, r.body) for r in pending]
    seqs = [seq for seq, _k, _b in rows]
    assert seqs == list(range(1, len(seqs) + 1))  # every record once, numbered without a gap
    states = [b["state"] for b in kinds(rows, "session")]
    assert states[:3] == ["authorized", "tested", "in_work"]
    assert "overtime" in states and states[-1] == "closed"
    assert all(b.get("permit_id") == PERMIT for b in kinds(rows, "session") if b["state"] != "closed")
    raised = first_seq(rows, "alarm", cause="gas_level2", state="raised")
    acked = first_seq(rows, "alarm", cause="gas_level2", state="acknowledged")
    warning = first_seq(rows, "alarm", cause="overtime_warning", state="raised")
    overtime = first_seq(rows, "alarm", cause="overtime", state="raised")
    opened = first_seq(rows, "lock_audit", event="opened")
    closed = first_seq(rows, "lock_audit", event="closed")
    entrant = first_seq(rows, "event", type="entrant_in")
    assert opened < entrant < raised < acked < warning < overtime < closed
    assert kinds(rows, "alarm", cause="gas_level2", state="acknowledged")[0]["by"] == "local_input"
    assert first_seq(rows, "session", state="closed") > closed
    assert len(kinds(rows, "lock_audit")) == 2
    assert kinds(rows, "event", type="attestation_issued")
    assert kinds(rows, "telemetry", detector_id="det-1")
    results = [b["data"]["result"] for b in kinds(rows, "event", type="command_result")]
    assert results == ["applied", "applied"]
