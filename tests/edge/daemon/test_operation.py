"""A scripted confined-space operation through the daemon, with real parts on every side of it: the gas simulator
on a serial line, the padlock simulator and the worker's phone on the virtual radio, and the uplink over a private
Mosquitto to a minimal cloud in the test that stores by (gateway, epoch, seq) and answers with signed acks.

Pre-entry gas in range → attestation issued and pushed to the padlock over the radio → the phone unlocks with its
token and the daemon's watcher brings the signed "opened" entry → entrants check in → an H2S spike raises the
alarms and drives the siren coil (read back on the simulated output module) → acknowledged at the module's button
once the gas is back → overtime warning and alarm → entrants out → the attendant closes the padlock → session
closed. One batch is lost on the way. Every record the gateway made arrives at the receiver exactly once after
dedupe, numbered without a gap, in the order of events, and the outbox drains as the acks come back.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.daemon import Daemon
from edge.daemon.ble import PadlockRadio
from edge.daemon.padlocks import HeldPushes
from fwsim.phone import Phone, TokenFile
from fwsim.phone.bumble_central import BumbleCentral
from fwsim.rig.mosquitto import MosquittoBroker
from fwsim.rig.radio import attached_device
from fwsim.stage.edge_site import GATEWAY, LOCK, PERMIT, SPACE, SPIKE_AT, SPIKE_END, Site
from fwsim.stage.receiver import AckingReceiver
from protocols import crypto
from protocols.padlock.audit import verify_chain
from protocols.padlock.pushes import verify_gas_attestation
from protocols.uplink import make_record
from protocols.uplink.fields import b64url_decode
from tests.edge.daemon.conftest import no_ntp
from tests.edge.daemon.radio import lock_core, padlock_on, radio_config, token_for
from tests.edge.daemon.site import outbox_rows
from tests.rig.waiting import eventually

Row = tuple[int, str, dict[str, Any]]

STEP_S = 40.0  # generous: a radio visit waits out the protocol's reconnect gap, and the machine is shared
EPOCH = 1  # the site's edge.toml keeps the default epoch
MAX_CONTINUOUS_S = 20  # the permit's continuous-work limit: overtime comes within the test


def kinds(rows: list[Row], kind: str, **match: Any) -> list[dict[str, Any]]:
    return [body for _seq, k, body in rows if k == kind and all(body.get(f) == v for f, v in match.items())]


def first_seq(rows: list[Row], kind: str, **match: Any) -> int:
    return next(seq for seq, k, body in rows if k == kind and all(body.get(f) == v for f, v in match.items()))


@pytest.mark.parametrize("ble_radio_tcp", [3], indirect=True)
async def test_scripted_operation(tmp_path: Path, serial_pty: Any, gas: Any, ble_radio_tcp: Any,
                                  mosquitto: MosquittoBroker) -> None:
    sim, clock = gas
    gateway_hci, lock_hci, phone_hci = ble_radio_tcp.transports
    site = Site(tmp_path, serial_pty.a)
    issuer, holder = crypto.generate_private_key(), crypto.generate_private_key()
    core = lock_core(site, issuer)
    token_file = tmp_path / "permit.token"
    token_file.write_bytes(token_for(issuer, holder, max_duration_s=MAX_CONTINUOUS_S))
    config = radio_config(load_edge_config(site.write_config(uplink=Site.mqtt_uplink(mosquitto.host, mosquitto.port))),
                          core, gateway_hci)
    assert config.uplink is not None and config.gateway.epoch == EPOCH

    produced: list[Row] = []  # every record the gateway made, as it staged it
    announced: list[tuple[str, str, str]] = []
    daemon = Daemon(config, clock_keeper=ClockKeeper(ntp=no_ntp), pushes=HeldPushes(),
                    announce=lambda *a: announced.append(a), on_record=lambda *r: produced.append(r))
    session = lambda: daemon.spaces[SPACE].session  # noqa: E731
    siren = lambda: sim.output_module(10).coils["siren"]  # noqa: E731
    # The minimal cloud signs its acks with the cloud key the gateway trusts for commands ([cloud] command_keys).
    receiver = AckingReceiver(mosquitto.host, mosquitto.port, site.cloud_key)
    receiver.start()
    try:
        async with padlock_on(lock_hci, core) as lock, attached_device(phone_hci, "phone") as phone_device:
            await daemon.start()
            try:
                radio = daemon.radio
                assert isinstance(radio, PadlockRadio) and daemon.pushes is radio
                boot = core.log.last_seq  # provisioned, power_on
                await eventually(lambda: daemon.audit.locks[LOCK].cursor.seq == boot, timeout_s=STEP_S,
                                 what="the watcher pulled the lock's boot entries")
                await eventually(lambda: daemon.spaces[SPACE].last_state
                                 and daemon.spaces[SPACE].last_state.all_in_range, timeout_s=STEP_S,
                                 what="gas in range")
                # The clock is trusted only by a signed cloud time (until then acks are refused too); then the
                # permit arrives as a signed command.
                assert await daemon.submit_command(site.time_command()) == "applied"
                assert await daemon.submit_command(site.permit_command(max_continuous_s=MAX_CONTINUOUS_S)) == "applied"
                await eventually(lambda: session().phase.value == "tested", timeout_s=STEP_S,
                                 what="pre-entry test passed")
                await eventually(lambda: radio.results.get((LOCK, "gas_attestation")) == "ok", timeout_s=STEP_S,
                                 what="the attestation delivered to the padlock over the radio")
                assert core.attestation is not None
                attestation = verify_gas_attestation(core.attestation, gateway_key=site.gateway_key.public_key())
                assert attestation.space_id.hex() == SPACE and attestation.all_in_range

                phone = Phone(BumbleCentral(phone_device), holder, TokenFile(token_file))
                outcome = await asyncio.wait_for(phone.unlock(bytes.fromhex(LOCK), scan_timeout_s=STEP_S), STEP_S)
                assert outcome.ok, outcome.in_words()
                assert core.open
                await eventually(lambda: session().phase.value == "in_work", timeout_s=STEP_S,
                                 what="the watcher brought the opened entry and the session started")
                assert session().permit is not None and session().permit.permit_id == PERMIT
                assert session().deadline is not None
                await daemon.entrant_in(SPACE, "w-1")
                await daemon.entrant_in(SPACE, "w-2")

                # The next batch is lost once (as if the broker never delivered it): the following ack reports the
                # gap, the gateway sends again from it, and the receiver gets some records twice (stored once).
                assert daemon.outbox is not None and daemon.sender is not None
                sender = daemon.sender
                receiver.drop_batch(daemon.outbox.last_seq + 1)
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

                await eventually(lambda: session().phase.value == "overtime", timeout_s=STEP_S, what="overtime")
                await eventually(siren, what="siren for overtime")
                await daemon.entrant_out(SPACE, "w-1")
                await daemon.entrant_out(SPACE, "w-2")
                await lock.close()  # the attendant closes the shackle; the watcher brings the closed entry
                await eventually(lambda: session().phase.value == "closed", timeout_s=STEP_S, what="session closed")
                await eventually(lambda: daemon.audit.locks[LOCK].cursor.seq == core.log.last_seq, timeout_s=STEP_S,
                                 what="every lock entry taken by the daemon")

                # Every record of the operation acknowledged by the receiver and deleted: the outbox drains (the
                # detector keeps polling, so it is empty between one reading's ack and the next reading).
                outbox = daemon.outbox
                closed_at = first_seq(produced, "session", state="closed")
                drained_at = await eventually(lambda: outbox.count == 0 and outbox.last_seq >= closed_at
                                              and outbox.last_seq, timeout_s=STEP_S,
                                              what="the outbox drained by the receiver's acks")
                # The gate took the receiver's acks; it refused only those that came before the clock was trusted
                # (or an ack the broker delivered twice).
                assert daemon.gate is not None and daemon.gate.accepted["ack"] >= 1
                assert set(daemon.gate.rejected) <= {"untrusted_clock", "replayed"}, daemon.gate.rejected
            finally:
                await daemon.stop()
    finally:
        receiver.stop()

    # -- what the gateway made: each record once, numbered without a gap ---------------------------------------
    produced_seqs = [seq for seq, _k, _b in produced]
    assert produced_seqs == list(range(1, len(produced) + 1))

    # -- what the receiver stored: every record up to its watermark, each once, as the gateway made it ---------
    watermark, stored, first_arrivals = receiver.snapshot(GATEWAY, EPOCH)
    assert watermark >= drained_at
    assert [r.seq for r in stored] == list(range(1, watermark + 1))  # exactly once after dedupe, no gap
    assert sorted(first_arrivals) == list(range(1, watermark + 1))  # stored once each (the dropped batch late)
    assert sender.rewinds >= 1 and receiver.duplicates >= 1  # the lost batch was sent again, with later ones
    assert receiver.conflicts == 0  # a record sent again was the same record
    made = {seq: (kind, body) for seq, kind, body in produced}
    for record in stored:
        kind, body = made[record.seq]
        assert record == make_record(record.seq, kind, record.at_ms, body), record.seq
    # Records made after the drain (readings while the gateway stopped) may still wait in its outbox, not yet
    # acknowledged: nothing is lost — each record reached the receiver or still waits to be sent.
    tail = [seq for seq, _k, _b in outbox_rows(site.state_dir)]
    assert tail == produced_seqs[len(produced_seqs) - len(tail):]
    assert all(seq > drained_at for seq in tail)
    assert set(produced_seqs) == {r.seq for r in stored} | set(tail)

    # -- the operation, in order, as the receiver stored it ---------------------------------------------------
    rows = [(r.seq, r.kind, r.body.model_dump(mode="json")) for r in stored]
    states = [b["state"] for b in kinds(rows, "session")]
    assert states[:3] == ["authorized", "tested", "in_work"]
    assert "overtime" in states and states[-1] == "closed"
    assert all(b.get("permit_id") == PERMIT for b in kinds(rows, "session") if b["state"] != "closed")
    raised = first_seq(rows, "alarm", cause="gas_level2", state="raised")
    acked = first_seq(rows, "alarm", cause="gas_level2", state="acknowledged")
    warning = first_seq(rows, "alarm", cause="overtime_warning", state="raised")
    overtime = first_seq(rows, "alarm", cause="overtime", state="raised")
    attested = first_seq(rows, "event", type="attestation_issued")
    opened = first_seq(rows, "lock_audit", event="opened")
    closed = first_seq(rows, "lock_audit", event="closed")
    entrant = first_seq(rows, "event", type="entrant_in")
    assert attested < opened < entrant < raised < acked < warning < overtime < closed
    assert first_seq(rows, "session", state="tested") < opened < first_seq(rows, "session", state="in_work")
    assert kinds(rows, "alarm", cause="gas_level2", state="acknowledged")[0]["by"] == "local_input"
    assert first_seq(rows, "session", state="closed") > closed
    assert kinds(rows, "telemetry", detector_id="det-1")
    results = [b["data"]["result"] for b in kinds(rows, "event", type="command_result")]
    assert results == ["applied", "applied"]
    # The padlock's whole log came over the radio, each entry once, in the lock's order, its chain intact.
    audit = kinds(rows, "lock_audit")
    assert [b["lock_seq"] for b in audit] == list(range(1, core.log.last_seq + 1))
    assert all(b["chain_ok"] for b in audit)
    entries = [b64url_decode(b["entry"]) for b in audit]
    assert entries == [e.signed for e in core.log.decoded()]
    verify_chain(entries, Ed25519PublicKey.from_public_bytes(core.lock_public_key), lock_id=bytes.fromhex(LOCK))
