"""The daemon as a real process, killed with SIGKILL mid-session and started again on the same state directory.

The session resumes with its entrants and permit, the deadline that passed while the daemon was dead fires at
once, and nothing stored before the kill is lost or renumbered: the outbox continues without a gap.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from edge.daemon.console import call
from fwsim.stage.edge_site import LOCK, SPACE, Site
from protocols.padlock.events import EventKind
from protocols.uplink.fields import b64url_encode
from tests.edge.daemon.site import outbox_rows
from tests.rig.waiting import eventually

ROOT = Path(__file__).resolve().parents[3]


def start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "firmware-sim")])
    env["PYTHONFAULTHANDLER"] = "1"
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "edge.cli", "--json-logs", "run", "--config", str(config)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


async def console(site: Site, request: dict[str, Any]) -> dict[str, Any]:
    answer = await call(site.state_dir / "console.sock", request)
    assert answer["ok"], answer
    return answer


def tail(log: Path) -> str:
    return log.read_text()[-3000:]


async def wait_console(site: Site, process: subprocess.Popen[bytes], log: Path) -> None:
    async def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"daemon exited {process.returncode}:\n{tail(log)}")
        try:
            return bool((await call(site.state_dir / "console.sock", {"op": "status"}, timeout_s=2))["ok"])
        except OSError:
            return False

    deadline = time.monotonic() + 30
    while not await ready():
        assert time.monotonic() < deadline, f"daemon did not come up:\n{tail(log)}"
        await asyncio.sleep(0.1)


async def phase(site: Site) -> str:
    return str((await console(site, {"op": "status"}))["spaces"][SPACE]["phase"])


async def test_sigkill_mid_session_resumes_and_fires_the_missed_deadline(site: Site, gas: Any) -> None:
    config = site.write_config()
    log = site.root / "daemon.log"
    process = start_daemon(config, log)
    try:
        await wait_console(site, process, log)
        await eventually(lambda: any(k == "telemetry" for _s, k, _b in outbox_rows(site.state_dir)), what="polls")
        for wire in (site.time_command(), site.permit_command(max_continuous_s=6)):
            assert (await console(site, {"op": "command", "wire": wire.decode()}))["result"] == "applied"
        deadline = time.monotonic() + 20
        while await phase(site) != "tested":
            assert time.monotonic() < deadline, "pre-entry test did not pass"
            await asyncio.sleep(0.1)
        opened = b64url_encode(site.lock_entry(EventKind.OPENED, max_duration_s=6))
        assert (await console(site, {"op": "audit", "lock_id": LOCK, "entries": [opened]}))["new"] == 1
        await console(site, {"op": "entrant_in", "space": SPACE, "person": "w-1"})
        assert await phase(site) == "in_work"
        before = outbox_rows(site.state_dir)

        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        await asyncio.sleep(7)  # the 6-second deadline passes while nobody watches

        process = start_daemon(config, log)
        await wait_console(site, process, log)
        status = await console(site, {"op": "status"})
        assert status["spaces"][SPACE]["entrants"] == ["w-1"]
        assert status["spaces"][SPACE]["phase"] == "overtime"  # fired at once on restart
        assert any(a["kind"] == "overtime" for a in status["alarms"])
        # The relayed entry is already held: sending it again changes nothing.
        assert (await console(site, {"op": "audit", "lock_id": LOCK, "entries": [opened]}))["new"] == 0
        await console(site, {"op": "entrant_out", "space": SPACE, "person": "w-1"})
        closed = b64url_encode(site.lock_entry(EventKind.CLOSED))
        await console(site, {"op": "audit", "lock_id": LOCK, "entries": [closed]})
        assert await phase(site) == "closed"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    after = outbox_rows(site.state_dir)
    assert after[: len(before)] == before  # nothing stored before the kill was lost or changed
    assert [seq for seq, _k, _b in after] == list(range(1, len(after) + 1))
    restarted = [b for s, k, b in after if k == "event" and b["type"] == "gateway_started" and s > len(before)]
    assert restarted and restarted[0]["data"]["restored"] and restarted[0]["data"]["open_sessions"] == [SPACE]
    new = [(k, b) for s, k, b in after if s > len(before)]
    overtime = [b for k, b in new if k == "alarm" and b["cause"] == "overtime" and b["state"] == "raised"]
    assert overtime and overtime[0]["session_id"] == status["spaces"][SPACE]["session_id"]
    states = [b["state"] for k, b in new if k == "session"]
    assert states[0] == "overtime" and states[-1] == "closed"
