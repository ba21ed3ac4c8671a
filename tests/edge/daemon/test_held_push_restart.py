"""A revocation list that arrives while a session is open is deferred until the session closes — and survives a
restart of the daemon in between: the padlock (simulator, on the virtual radio) adopts it once the attendant has
closed the shackle after the restart. The list is kept in the state file (0600, replaced atomically)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.daemon import Daemon
from edge.daemon.padlocks import held_push_key
from fwsim.phone import Phone, TokenFile
from fwsim.phone.bumble_central import BumbleCentral
from fwsim.rig.radio import attached_device
from fwsim.stage.edge_site import LOCK, SPACE, Site
from protocols import crypto
from protocols.revocation import make_revocation_list, sign_revocation_list
from protocols.uplink.fields import b64url_encode
from tests.edge.daemon.conftest import no_ntp, stop_or_explain
from tests.edge.daemon.radio import lock_core, padlock_on, radio_config, token_for
from tests.rig.waiting import eventually

STEP_S = 40.0  # generous: a radio visit waits out the protocol's reconnect gap, and the machine is shared


@pytest.mark.parametrize("ble_radio_tcp", [3], indirect=True)
async def test_a_revocation_deferred_by_an_open_session_reaches_the_lock_after_a_restart(
        tmp_path: Path, serial_pty: Any, gas: Any, ble_radio_tcp: Any) -> None:
    gateway_hci, lock_hci, phone_hci = ble_radio_tcp.transports
    site = Site(tmp_path, serial_pty.a)
    issuer, holder = crypto.generate_private_key(), crypto.generate_private_key()
    core = lock_core(site, issuer)
    token_file = tmp_path / "permit.token"
    token_file.write_bytes(token_for(issuer, holder))
    config = radio_config(load_edge_config(site.write_config()), core, gateway_hci)
    revocations = sign_revocation_list(make_revocation_list(7, int(time.time()), {}, space_id=bytes.fromhex(SPACE),
                                                            lock_ids=[bytes.fromhex(LOCK)]), issuer,
                                       kid=crypto.key_id(issuer))
    async with padlock_on(lock_hci, core) as lock, attached_device(phone_hci, "phone") as phone_device:
        daemon = Daemon(config, clock_keeper=ClockKeeper(ntp=no_ntp))
        await daemon.start()
        try:
            session = daemon.spaces[SPACE].session
            assert await daemon.submit_command(site.time_command()) == "applied"
            assert await daemon.submit_command(site.permit_command(max_continuous_s=1200)) == "applied"
            await eventually(lambda: session.phase.value == "tested", timeout_s=STEP_S, what="pre-entry test")
            await eventually(lambda: daemon.radio.results.get((LOCK, "gas_attestation")) == "ok", timeout_s=STEP_S,
                             what="the attestation delivered over the radio")
            phone = Phone(BumbleCentral(phone_device), holder, TokenFile(token_file))
            outcome = await asyncio.wait_for(phone.unlock(bytes.fromhex(LOCK), scan_timeout_s=STEP_S), STEP_S)
            assert outcome.ok, outcome.in_words()
            await eventually(lambda: session.phase.value == "in_work", timeout_s=STEP_S, what="session open")

            wire = site.command("revocation_list", {"revocation_list": b64url_encode(revocations)})
            assert await daemon.submit_command(wire) == "applied"
            assert session.deferred == [(LOCK, held_push_key("revocation_list", LOCK))]  # not with people inside
        finally:
            await stop_or_explain(daemon)
        state = site.state_dir / "state.json"
        assert state.stat().st_mode & 0o777 == 0o600
        assert held_push_key("revocation_list", LOCK) in json.loads(state.read_text())["held_pushes"]
        assert core.revocations is None

        again = Daemon(config, clock_keeper=ClockKeeper(ntp=no_ntp))
        await again.start()
        try:
            assert again.spaces[SPACE].session.is_open
            await lock.close()  # the attendant closes the shackle; the watcher brings the closed entry
            await eventually(lambda: again.spaces[SPACE].session.phase.value == "closed", timeout_s=STEP_S,
                             what="session closed after the restart")
            await eventually(lambda: core.revocations is not None, timeout_s=STEP_S,
                             what="the held revocation list delivered to the padlock")
            assert core.revocations is not None and core.revocations.version == 7
        finally:
            await stop_or_explain(again)
