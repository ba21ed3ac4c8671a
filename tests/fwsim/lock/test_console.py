"""The padlock process's console commands, applied to a padlock on the in-process radio."""

from __future__ import annotations

import json

import pytest

from fwsim.lock.console import COMMANDS, run_command
from protocols.padlock.events import EventKind
from tests.fwsim.lock.world import NOW, PadlockRig, verify_log


async def test_every_console_command_acts_on_the_lock(rig: PadlockRig) -> None:
    lock = rig.lock
    assert "power-cycle" in await run_command(lock, "help")
    for line in ("force-open", "close", "mechanical-key", "tamper", "battery 9", "drift 500", "slow 0.25",
                 "drop-request 2", "drop-response", "provisioning"):
        assert await run_command(lock, line) == f"done: {line}"
    assert lock.faults.response_delay_s == 0.25
    assert (lock.faults.drop_mid_request, lock.faults.drop_mid_response) == (2, 1)
    assert rig.core.provisioning_mode and rig.core.clock.drift_ppm == 500
    rig.clock.advance(1000)
    await run_command(lock, "tamper")  # a logged event: the lock's time so far is on flash
    assert await run_command(lock, "power-cycle rtc") == "done: power-cycle rtc"
    rig.clock.advance(50)
    status = json.loads(await run_command(lock, "status"))
    assert status["battery"] == 9 and status["lock_time"] == NOW + 1000  # the flat RTC waits at the floor
    assert set(status["state"]) == {"open", "provisioning", "low_battery", "tamper"}
    kinds = [e.event.kind for e in verify_log(rig.core)]
    assert kinds[-7:] == [EventKind.FORCED_OPEN, EventKind.CLOSED, EventKind.MECHANICAL_KEY, EventKind.TAMPER,
                          EventKind.LOW_BATTERY, EventKind.TAMPER, EventKind.POWER_ON]
    assert await run_command(lock, "   ") == ""


@pytest.mark.parametrize("line", ["fly", "battery", "battery 1 2", "battery x", "drift"])
async def test_a_bad_console_line_is_refused(rig: PadlockRig, line: str) -> None:
    with pytest.raises(ValueError):
        await run_command(rig.lock, line)
    assert "status" in COMMANDS
