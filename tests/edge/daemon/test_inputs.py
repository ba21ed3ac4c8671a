"""Inputs the daemon must refuse or alarm on, and a detector's port lost and found mid-session."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.core.alarms import AlarmKind
from edge.daemon import Daemon
from edge.daemon.console import call
from edge.drivers.ble.errors import PadlockLinkError
from fwsim.gas import RtuPort
from fwsim.stage.edge_site import LOCK, SPACE, Site
from protocols.padlock.events import EventKind
from tests.edge.daemon.site import outbox_rows
from tests.rig.waiting import eventually


def kinds_of(daemon: Daemon) -> set[AlarmKind]:
    return {a.key.kind for a in daemon.alarms.open_alarms() if a.active}


async def open_session(daemon: Daemon, site: Site, *, max_continuous_s: int = 600) -> None:
    await eventually(lambda: daemon.spaces[SPACE].last_state and daemon.spaces[SPACE].last_state.all_in_range,
                     what="gas in range")
    assert await daemon.submit_command(site.time_command()) == "applied"
    assert await daemon.submit_command(site.permit_command(max_continuous_s=max_continuous_s)) == "applied"
    await eventually(lambda: daemon.spaces[SPACE].session.phase.value == "tested", what="tested")
    assert await daemon.relay_audit(LOCK, [site.lock_entry(EventKind.OPENED)]) == 1
    await daemon.entrant_in(SPACE, "w-1")


async def test_forged_and_replayed_commands_are_refused(daemon: Daemon, site: Site) -> None:
    forger = Site(site.root, site.port, cloud_key=Ed25519PrivateKey.generate())
    assert await daemon.submit_command(forger.time_command()) == "unknown_kid"
    # Before a signed time the clock is not trusted: only a time command passes.
    assert await daemon.submit_command(site.permit_command(max_continuous_s=60)) == "untrusted_clock"
    good = site.time_command()
    assert await daemon.submit_command(good) == "applied"
    assert await daemon.submit_command(good) == "replayed"
    assert daemon.spaces[SPACE].session.permit is None
    assert daemon.outbox is not None
    await daemon.outbox.flush()
    rows = outbox_rows(site.state_dir)
    results = [b["data"] for _s, k, b in rows if k == "event" and b["type"] == "command_result"]
    # Every refusal of a readable command naming this gateway reaches the cloud (protocols/uplink.md 5.3); one
    # whose signature did not verify says so, since its counter and kind are only what it claims.
    assert results == [{"counter": 1, "kind": "time", "result": "unknown_kid", "verified": False},
                       {"counter": 1, "kind": "permit_issued", "result": "untrusted_clock"},
                       {"counter": 2, "kind": "time", "result": "applied"},
                       {"counter": 2, "kind": "time", "result": "replayed"}]
    # Replayed again: the same refusal is reported once.
    assert await daemon.submit_command(good) == "replayed"
    await daemon.outbox.flush()
    again = [b for _s, k, b in outbox_rows(site.state_dir) if k == "event" and b["type"] == "command_result"]
    assert len(again) == 4


async def test_unlock_without_permit_is_an_alarm_and_sounds(daemon: Daemon, site: Site, gas: Any) -> None:
    sim, _clock = gas
    assert await daemon.relay_audit(LOCK, [site.lock_entry(EventKind.FORCED_OPEN)]) == 1
    assert daemon.spaces[SPACE].session.phase.value == "unauthorized_open"
    assert AlarmKind.UNAUTHORIZED_OPEN in kinds_of(daemon)
    await eventually(lambda: sim.output_module(10).coils["siren"], what="siren")
    rows = outbox_rows(site.state_dir)
    alarm = next(b for _s, k, b in rows if k == "alarm" and b["cause"] == "unauthorized_open")
    assert alarm["lock_id"] == LOCK and alarm["level"] == 2


async def test_forged_or_broken_audit_entries_are_refused(daemon: Daemon, site: Site) -> None:
    impostor = Site(site.root, site.port, lock_key=Ed25519PrivateKey.generate())
    with pytest.raises(PadlockLinkError) as refused:
        await daemon.relay_audit(LOCK, [impostor.lock_entry(EventKind.OPENED)])
    assert refused.value.code == "bad_chain"
    site.lock_entry(EventKind.CLOSED)  # an entry the gateway never sees: the next one does not link
    with pytest.raises(PadlockLinkError):
        await daemon.relay_audit(LOCK, [site.lock_entry(EventKind.FORCED_OPEN)])
    assert daemon.spaces[SPACE].session.phase.value == "idle"
    assert not [1 for _s, k, _b in outbox_rows(site.state_dir) if k == "lock_audit"]


async def test_console_speaks_for_the_attendant(daemon: Daemon, site: Site) -> None:
    sock = site.state_dir / "console.sock"
    assert (sock.stat().st_mode & 0o777) == 0o600
    assert (await call(sock, {"op": "entrant_in", "space": SPACE}))["ok"] is False  # person missing
    answer = await call(sock, {"op": "command", "wire": site.time_command().decode()})
    assert answer == {"ok": True, "result": "applied"}
    status = await call(sock, {"op": "status"})
    assert status["ok"] and status["clock_trusted"] and status["spaces"][SPACE]["phase"] == "idle"
    assert (await call(sock, {"op": "nonsense"}))["error"] == "unknown_op"


async def test_port_lost_mid_session_is_an_alarm_and_polling_resumes(daemon: Daemon, site: Site, gas: Any,
                                                                      serial_pty: Any) -> None:
    sim, _clock = gas
    await open_session(daemon, site)
    serial_pty.unplug()
    await eventually(lambda: kinds_of(daemon) & {AlarmKind.COMM_LOSS, AlarmKind.STALE_DATA}, what="fail-safe alarm")
    assert daemon.detectors["det-1"].comm_fault or AlarmKind.STALE_DATA in kinds_of(daemon)
    await sim.stop()
    serial_pty.replug()
    await sim.serve(RtuPort(serial_pty.b))
    seen = len(outbox_rows(site.state_dir))
    await eventually(lambda: any(k == "event" and b["type"] == "detector_recovered"
                                 for _s, k, b in outbox_rows(site.state_dir)), timeout_s=30, what="recovery")
    await eventually(lambda: not (kinds_of(daemon) & {AlarmKind.COMM_LOSS, AlarmKind.STALE_DATA}),
                     what="condition cleared")
    rows = outbox_rows(site.state_dir)
    assert any(k == "telemetry" for s, k, _b in rows if s > seen)  # polling resumed
    latched = [a for a in daemon.alarms.open_alarms() if a.key.kind in (AlarmKind.COMM_LOSS, AlarmKind.STALE_DATA)]
    assert latched and all(not a.acknowledged for a in latched)  # cleared but latched until acknowledged
    assert any(k == "alarm" and b["cause"] in ("comm_loss", "stale_data") and b["state"] == "raised"
               for _s, k, b in rows)


async def test_a_clock_set_ahead_is_reset_only_by_a_time_command_answering_its_request(daemon: Daemon,
                                                                                      site: Site) -> None:
    ahead_ms = 600_000
    wrong = site.command("time", {"time_ms": time.time_ns() // 1_000_000 + ahead_ms}, lifetime_ms=1000)
    assert await daemon.submit_command(wrong) == "applied"  # an untrusted clock takes it (its lifetime is the bound)
    assert abs(daemon.clock_keeper.trusted_ms() - time.time_ns() // 1_000_000 - ahead_ms) < 5_000
    # The next one looks expired to a clock 10 min ahead. Echoing nothing, it may have waited in a broker past its
    # lifetime: refused, the clock left alone (uplink spec 5.5).
    assert await daemon.submit_command(site.time_command()) == "expired"
    assert abs(daemon.clock_keeper.trusted_ms() - time.time_ns() // 1_000_000 - ahead_ms) < 5_000
    assert daemon.clock_keeper.wants_time()  # the uplink asks for one answering its request, to tell which is wrong
    # One answering the gateway's own time request is fresh by measurement; the clock is not NTP's, so it gives way.
    answer = site.command("time", {"time_ms": time.time_ns() // 1_000_000,
                                   "echo": daemon.clock_keeper.time_request()}, lifetime_ms=1000)
    assert await daemon.submit_command(answer) == "applied"
    trusted = daemon.clock_keeper.trusted_ms()
    assert trusted is not None and abs(trusted - time.time_ns() // 1_000_000) < 5_000
    assert not daemon.clock_keeper.wants_time()
