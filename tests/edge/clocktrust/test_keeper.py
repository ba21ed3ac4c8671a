"""ClockKeeper: the adapter folds OS and cloud time into the pure state and hands out the right time."""

from __future__ import annotations

import asyncio
import time

import pytest

from edge.clocktrust.keeper import ClockKeeper
from edge.clocktrust.system import NtpStatus, adjtimex_status
from edge.clocktrust.trust import ClockUntrusted, Reading

T0 = 1_767_225_600_000


class Clocks:
    """A settable stand-in for the machine's clocks (the real ones cannot be moved by a test)."""

    def __init__(self) -> None:
        self.mono = 10.0
        self.wall_ms = 946_684_800_000  # the Pi thinks it is 2000

    def __call__(self, boot_id: str) -> Reading:
        return Reading(self.mono, self.wall_ms, boot_id)


def test_cloud_time_makes_the_clock_trusted_and_records_follow_it() -> None:
    clocks = Clocks()
    keeper = ClockKeeper(boot_id="b", clocks=clocks)
    assert keeper.trusted_ms() is None
    with pytest.raises(ClockUntrusted):
        keeper.for_padlock()
    assert keeper.now().wall == clocks.wall_ms // 1000  # no better idea yet
    assert keeper.cloud_time(T0, delay_bound_ms=400) is True
    clocks.mono += 30
    assert keeper.trusted_ms() == T0 + 200 + 30_000
    assert keeper.for_padlock().wall_ms == T0 + 30_200
    assert keeper.now().wall == (T0 + 30_200) // 1000 and keeper.now().mono == clocks.mono
    keeper.distrust()
    assert keeper.trusted_ms() is None


async def test_refresh_folds_in_the_os_ntp_state() -> None:
    clocks = Clocks()
    answers: list[NtpStatus | None] = [None, NtpStatus(False, 16_000, "adjtimex"), NtpStatus(True, 12, "adjtimex")]

    async def ntp() -> NtpStatus | None:
        return answers.pop(0)

    keeper = ClockKeeper(boot_id="b", ntp=ntp, clocks=clocks)
    assert await keeper.refresh() is False
    assert await keeper.refresh() is False
    clocks.wall_ms = T0
    assert await keeper.refresh() is True
    assert keeper.for_padlock().uncertainty_ms == 12


async def test_periodic_task_with_the_real_os() -> None:
    keeper = ClockKeeper()  # this machine's boot id, clocks and kernel NTP state
    task = keeper.start(interval_s=0.01)
    try:
        assert task.get_name() == "clock-trust"
        trusted = await keeper.refresh()
        status = adjtimex_status()
        assert status is not None
        assert trusted == status.synced
        assert abs(keeper.now().wall - time.time()) < 5  # trusted or not, this machine's clock is the best guess
    finally:
        await keeper.stop()
    assert task.done()


async def test_a_failing_probe_does_not_end_the_loop() -> None:
    calls = 0

    async def broken() -> NtpStatus | None:
        nonlocal calls
        calls += 1
        raise OSError("no bus")

    keeper = ClockKeeper(boot_id="b", ntp=broken, clocks=Clocks())
    keeper.start(interval_s=0.001)
    try:
        for _ in range(5000):
            if calls >= 3:
                break
            await asyncio.sleep(0.001)
        assert calls >= 3
    finally:
        await keeper.stop()


async def test_an_expired_looking_time_command_drops_cloud_trust_but_not_ntp_trust() -> None:
    clocks = Clocks()
    keeper = ClockKeeper(boot_id="b", clocks=clocks)
    keeper.cloud_time(T0, delay_bound_ms=400)
    assert keeper.distrust_unless_ntp() is True and keeper.trusted_ms() is None

    async def synced() -> NtpStatus:
        return NtpStatus(True, 12, "adjtimex")

    by_ntp = ClockKeeper(boot_id="b", ntp=synced, clocks=clocks)
    clocks.wall_ms = T0
    assert await by_ntp.refresh() is True
    assert by_ntp.distrust_unless_ntp() is False and by_ntp.trusted_ms() is not None
