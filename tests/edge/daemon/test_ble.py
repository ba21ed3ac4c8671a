"""The daemon's radio link (edge.daemon.ble) against the padlock simulator and the phone client, each on its own
virtual controller of the rig's TCP radio, with the gas simulator on a real serial line.

The daemon's watcher pulls the lock's boot entries, pushes the gas attestation once the pre-entry test passes,
the phone unlocks with its token, the watcher sees the opened entry and the session starts; the attendant closes
the shackle and the session closes — every entry relayed once, in the lock's order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.daemon import Daemon
from edge.daemon.ble import PadlockRadio
from fwsim.phone import Phone, TokenFile
from fwsim.phone.bumble_central import BumbleCentral
from fwsim.rig.radio import attached_device
from fwsim.stage.edge_site import LOCK, PERMIT, SPACE, Site
from protocols import crypto
from safegrid.config import ConfigError
from tests.edge.daemon.conftest import no_ntp
from tests.edge.daemon.radio import lock_core, padlock_on, radio_config, token_for
from tests.edge.daemon.site import outbox_rows
from tests.rig.waiting import eventually

STEP_S = 40.0  # generous: a visit waits out the protocol's reconnect gap, and the machine is shared


@pytest.mark.parametrize("ble_radio_tcp", [3], indirect=True)
async def test_phone_unlock_over_the_radio_starts_the_session(tmp_path: Path, serial_pty: Any, gas: Any,
                                                              ble_radio_tcp: Any) -> None:
    gateway_hci, lock_hci, phone_hci = ble_radio_tcp.transports
    site = Site(tmp_path, serial_pty.a)
    issuer, holder = crypto.generate_private_key(), crypto.generate_private_key()
    core = lock_core(site, issuer)
    token_file = tmp_path / "permit.token"
    token_file.write_bytes(token_for(issuer, holder))
    config = radio_config(load_edge_config(site.write_config()), core, gateway_hci)
    daemon = Daemon(config, clock_keeper=ClockKeeper(ntp=no_ntp))
    session = lambda: daemon.spaces[SPACE].session  # noqa: E731
    async with padlock_on(lock_hci, core) as lock, attached_device(phone_hci, "phone") as phone_device:
        await daemon.start()
        try:
            radio = daemon.radio
            assert isinstance(radio, PadlockRadio) and daemon.pushes is radio
            boot = core.log.last_seq  # provisioned, power_on
            await eventually(lambda: daemon.audit.locks[LOCK].cursor.seq == boot, timeout_s=STEP_S,
                             what="the watcher pulled the lock's boot entries")
            assert await daemon.submit_command(site.time_command()) == "applied"
            assert await daemon.submit_command(site.permit_command(max_continuous_s=1200)) == "applied"
            await eventually(lambda: session().phase.value == "tested", timeout_s=STEP_S, what="pre-entry test")
            await eventually(lambda: radio.results.get((LOCK, "gas_attestation")) == "ok", timeout_s=STEP_S,
                             what="the attestation delivered over the radio")
            assert core.attestation is not None

            phone = Phone(BumbleCentral(phone_device), holder, TokenFile(token_file))
            outcome = await asyncio.wait_for(phone.unlock(bytes.fromhex(LOCK), scan_timeout_s=STEP_S), STEP_S)
            assert outcome.ok, outcome.in_words()
            assert core.open
            await eventually(lambda: session().phase.value == "in_work", timeout_s=STEP_S,
                             what="the daemon saw the opened entry and started the session")
            assert session().permit is not None and session().permit.permit_id == PERMIT
            assert session().deadline is not None

            await lock.close()  # the attendant closes the shackle: nobody checked in, so the session may close
            await eventually(lambda: session().phase.value == "closed", timeout_s=STEP_S, what="session closed")
            # The watcher's cursor moves once the daemon has taken the entries (just after the session closed).
            await eventually(lambda: daemon.status()["padlocks"][LOCK]["seq"] == core.log.last_seq,
                             timeout_s=STEP_S, what="the watcher's cursor at the lock's last entry")
            assert daemon.status()["padlocks"][LOCK]["pushes"]["gas_attestation"] == "ok"
            assert daemon.outbox is not None
            await daemon.outbox.flush()
        finally:
            await daemon.stop()
    assert daemon.radio is None  # stopped and let go
    rows = outbox_rows(site.state_dir)
    audit = [body for _seq, kind, body in rows if kind == "lock_audit"]
    assert [b["lock_seq"] for b in audit] == list(range(1, core.log.last_seq + 1))  # each entry once, in order
    events = [b["event"] for b in audit]
    assert events.index("opened") < events.index("closed")
    states = [body["state"] for _seq, kind, body in rows if kind == "session"]
    assert states[:3] == ["authorized", "tested", "in_work"] and states[-1] == "closed"


@pytest.mark.parametrize(("radio", "key"), [('backend = "bumble"', "padlocks[0]"),
                                            ('backend = "bleak"\nhci = "tcp-client:127.0.0.1:9"', "padlocks[0]"),
                                            ('backend = "zigbee"', "padlocks[0].backend")])
def test_a_wrong_radio_section_names_the_padlock(tmp_path: Path, radio: str, key: str) -> None:
    path = Site(tmp_path, "/dev/null").write_config()
    text = path.read_text()
    path.write_text(text.replace("\n[cloud]", f"{radio}\n\n[cloud]", 1))
    with pytest.raises(ConfigError) as err:
        load_edge_config(path)
    assert err.value.key == key, str(err.value)
