"""``safegrid-sim radio`` and ``safegrid-sim lock`` as their own processes, unlocked from the test process."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from fwsim.cli import main
from fwsim.lock import LockStore
from fwsim.phone.bumble_central import BumbleCentral
from fwsim.phone.session import PadlockSession
from fwsim.rig.radio import TcpRadio, attached_device
from protocols.padlock import messages as m
from protocols.padlock.events import EventKind
from tests.fwsim.lock.processes import SimProcess, sim_argv
from tests.fwsim.lock.world import STEP_TIMEOUT_S, provision_message, token_for_now, v, verify_log
from tests.rig import REPO_ROOT


@pytest.mark.parametrize("argv", [["radio", "--help"], ["lock", "--help"]])
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: safegrid-sim" in out
    if argv[0] == "lock":
        assert "--hci" in out and "--drop-mid-request" in out and "--power-cycle-every" in out


def test_bad_lock_arguments_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lock", "--hci", "tcp-client:127.0.0.1:1", "--state", str(tmp_path / "s"), "--battery", "120"]) == 2
    (tmp_path / "broken.json").write_text("{}")
    assert main(["lock", "--hci", "tcp-client:127.0.0.1:1", "--state", str(tmp_path / "broken.json")]) == 2
    assert main(["radio", "--ports", "x"]) == 2
    assert "not a padlock state file" in capsys.readouterr().err


async def central_session(central: BumbleCentral, lock_id: bytes) -> PadlockSession:
    found = await asyncio.wait_for(central.find(lock_id, STEP_TIMEOUT_S), STEP_TIMEOUT_S)
    return PadlockSession(await central.connect(found, mtu=247))


async def test_a_lock_in_its_own_process_is_provisioned_unlocked_closed_and_keeps_its_log(
        ble_radio_tcp: TcpRadio, tmp_path: Path) -> None:
    state = tmp_path / "lock.json"
    lock = SimProcess(tmp_path, "lock", "lock", "--hci", ble_radio_tcp.transports[0], "--state", str(state),
                      "--advertising-interval-ms", "20", "--battery", "80").start()
    try:
        started = await lock.wait_log("padlock advertising")
        assert started["provisioning_mode"] is True and state.stat().st_mode & 0o777 == 0o600
        async with attached_device(ble_radio_tcp.transports[1], "technician") as device:
            central = BumbleCentral(device)
            session = await central_session(central, bytes.fromhex(started["lock_id"]))
            try:
                assert (await session.result_of(provision_message())).ok
            finally:
                await session.link.close()
            session = await central_session(central, v.LOCK_ID)  # it advertises its new id
            try:
                outcome = await session.unlock(token_for_now(), v.WORKER)
                info = await session.info()
            finally:
                await session.link.close()
            assert outcome.ok and len(outcome.events) == 1
            assert isinstance(info, m.InfoResponse) and info.battery == 80
            lock.command("close")  # the attendant, at the lock's console
            await lock.wait_output("done: close")
            lock.command("status")
            status = json.loads(await lock.wait_output('"lock_id"'))
            assert status["lock_id"] == v.LOCK_ID.hex() and status["state"] == []
    finally:
        code = lock.stop()
    assert code == 0, lock.tail()
    stored = LockStore(state).load()
    kinds = [e.event.kind for e in verify_log(stored)]
    assert kinds == [EventKind.PROVISIONED, EventKind.OPENED, EventKind.CLOSED]
    assert stored.lock_public_key.hex() == started["lock_key"]


async def test_the_radio_command_links_processes(tmp_path: Path) -> None:
    radio = await asyncio.create_subprocess_exec(*sim_argv("radio", "--controllers", "2"), stdout=subprocess.PIPE,
                                                 stderr=subprocess.DEVNULL, cwd=REPO_ROOT)
    try:
        assert radio.stdout is not None
        specs = [(await asyncio.wait_for(radio.stdout.readline(), STEP_TIMEOUT_S)).decode().strip() for _ in range(2)]
        assert all(spec.startswith("tcp-client:127.0.0.1:") for spec in specs)
        lock = SimProcess(tmp_path, "lock", "lock", "--hci", specs[0], "--state", str(tmp_path / "lock.json"),
                          "--advertising-interval-ms", "20", "--no-console").start()
        try:
            started = await lock.wait_log("padlock advertising")
            async with attached_device(specs[1], "phone") as device:
                session = await central_session(BumbleCentral(device), bytes.fromhex(started["lock_id"]))
                try:
                    info = await session.info()
                finally:
                    await session.link.close()
            assert isinstance(info, m.InfoResponse) and info.lock_id.hex() == started["lock_id"]
        finally:
            assert lock.stop() == 0
    finally:
        radio.terminate()
        assert await asyncio.wait_for(radio.wait(), 10) == 0
