"""``safegrid-sim phone``: the worker's key, and a phone process unlocking a padlock process on the radio."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from fwsim.cli import main
from fwsim.phone.bumble_central import BumbleCentral
from fwsim.phone.session import PadlockSession
from fwsim.rig.radio import TcpRadio, attached_device
from tests.fwsim.lock.processes import SimProcess, sim_argv
from tests.fwsim.lock.world import STEP_TIMEOUT_S, provision_message, token_for_now, v
from tests.rig import REPO_ROOT


def test_phone_key_is_made_once_and_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "worker.key"
    assert main(["phone", "key", "--key", str(key)]) == 0
    first = capsys.readouterr().out
    assert main(["phone", "key", "--key", str(key)]) == 0
    assert capsys.readouterr().out == first
    assert re.fullmatch(r"worker public key [0-9a-f]{64} \(kid [0-9a-f]{16}\)\n", first)
    assert key.stat().st_mode & 0o777 == 0o600


def test_phone_unlock_refuses_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["phone", "unlock", "--token", str(tmp_path / "t"), "--key", str(tmp_path / "k"), "--hci", "x"]
    assert main([*base, "--lock-id", "abcd"]) == 2
    assert main([*base, "--lock-id", v.LOCK_ID.hex(), "--mtu", "9"]) == 2
    assert main([*base, "--lock-id", v.LOCK_ID.hex()]) == 2  # no token file
    assert "no permit token" in capsys.readouterr().err
    (tmp_path / "t").write_bytes(token_for_now())
    assert main([*base[:-1], "tcp-client:127.0.0.1:1", "--lock-id", v.LOCK_ID.hex()]) == 3  # nobody listening
    assert "unreachable: cannot use the radio" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["phone", "unlock", "--lock-id", v.LOCK_ID.hex(), "--token", "t"])  # --hci or --bleak is required


async def run_phone(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(*sim_argv("phone", "unlock", *args), cwd=REPO_ROOT,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("ble_radio_tcp", [3], indirect=True)
async def test_a_phone_process_unlocks_a_padlock_process(ble_radio_tcp: TcpRadio, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    lock_hci, technician_hci, phone_hci = ble_radio_tcp.transports
    key = tmp_path / "worker.key"
    assert main(["phone", "key", "--key", str(key)]) == 0
    holder = bytes.fromhex(capsys.readouterr().out.split()[3])
    permit = tmp_path / "permit.token"
    permit.write_text(token_for_now(holder_key=holder).hex())
    lock = SimProcess(tmp_path, "lock", "lock", "--hci", lock_hci, "--state", str(tmp_path / "lock.json"),
                      "--advertising-interval-ms", "20", "--no-console").start()
    try:
        started = await lock.wait_log("padlock advertising")
        async with attached_device(technician_hci, "technician") as device:
            central = BumbleCentral(device)
            found = await central.find(bytes.fromhex(started["lock_id"]), STEP_TIMEOUT_S)
            session = PadlockSession(await central.connect(found, mtu=247))
            try:
                assert (await session.result_of(provision_message())).ok
            finally:
                await session.link.close()
        common = ["--lock-id", v.LOCK_ID.hex(), "--token", str(permit), "--hci", phone_hci]
        code, out, err = await run_phone(*common, "--key", str(key))
        assert (code, out) == (0, f"padlock {v.LOCK_ID.hex()}: ok: unlocked: the padlock opened\n"), err
        code, out, err = await run_phone(*common, "--key", str(tmp_path / "another-phone.key"))
        assert code == 1 and "bad_pop: refused" in out, err
        code, out, err = await run_phone("--lock-id", v.OTHER_LOCK_ID.hex(), "--token", str(permit), "--hci",
                                         phone_hci, "--key", str(key), "--scan-timeout", "0.5")
        assert code == 2 and "does not name lock" in err  # the token is checked before scanning
        await lock.wait_log("lock event", kind="opened")
    finally:
        assert lock.stop() == 0, lock.tail()
