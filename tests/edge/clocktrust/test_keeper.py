"""ClockKeeper: the adapter folds OS and cloud time into the pure state and hands out the right time."""

from __future__ import annotations

import asyncio
import time

import pytest

from edge.clocktrust.keeper import ClockKeeper
from edge.clocktrust.requests import TimeRequests
from edge.clocktrust.system import NtpStatus, adjtimex_status
from edge.clocktrust.trust import ClockUntrusted, Reading
from edge.errors import EdgeError
from protocols.commands import TimeSet, make_command

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


def time_command(time_ms: int, *, echo: str | None = None, lifetime_ms: int = 60_000) -> TimeSet:
    body: dict[str, object] = {"time_ms": time_ms} if echo is None else {"time_ms": time_ms, "echo": echo}
    command = make_command({"kind": "time", "gateway": "gw-1", "counter": 7, "issued_at_ms": time_ms,
                            "expires_at_ms": time_ms + lifetime_ms, "body": body})
    assert isinstance(command, TimeSet)
    return command


def test_an_echoed_time_command_is_bounded_by_the_measured_round_trip() -> None:
    clocks = Clocks()
    keeper = ClockKeeper(boot_id="b", clocks=clocks)
    request = keeper.time_request()
    clocks.mono += 0.080  # the request travelled, the cloud signed at T0, the command came back: 80 ms in all
    assert keeper.take_time(time_command(T0, echo=request)) is True
    trusted = keeper.for_padlock()
    assert trusted.wall_ms == T0 + 40 and 40 + 500 <= trusted.uncertainty_ms <= 40 + 500 + 1  # half the RTT + cloud


def test_a_time_command_without_our_echo_gets_the_coarse_bound_and_no_padlock() -> None:
    """No echo, an echo from another process (key), a tampered one: only the lifetime bounds the delivery. Such
    time is trusted for checking expiries but too loose (±30.5 s) to set a padlock's clock."""
    other = TimeRequests().new(10.0)
    for echo in (None, other, "10000-0000000000000000", "abc"):
        clocks = Clocks()
        keeper = ClockKeeper(boot_id="b", clocks=clocks)
        keeper.time_request()
        assert keeper.take_time(time_command(T0, echo=echo)) is True
        assert keeper.trusted_ms() == T0 + 30_000
        with pytest.raises(ClockUntrusted) as err:
            keeper.for_padlock()
        assert err.value.code == "too_uncertain_for_padlock"


def test_an_unechoed_time_command_our_estimate_shows_expired_never_sets_the_clock_back() -> None:
    """The gateway's clock is no longer trusted (drift grew its bound past a minute) but still knows roughly what
    time it is: a time command that waited in a broker past its lifetime is refused, the estimate kept."""
    clocks = Clocks()
    keeper = ClockKeeper(boot_id="b", clocks=clocks)
    keeper.take_time(time_command(T0, echo=keeper.time_request()))
    clocks.mono += 15 * 24 * 3600  # 15 days without a source: bound 0.5 s + 65 s of drift, no longer trusted
    assert keeper.trusted_ms() is None
    estimate = keeper.trust.estimate(keeper.reading())
    assert estimate is not None
    stale = time_command(estimate.wall_ms - 10 * 60_000)  # signed 10 minutes ago, lifetime 1 minute
    with pytest.raises(EdgeError) as err:
        keeper.take_time(stale)
    assert err.value.code == "expired"
    assert keeper.trust.estimate(keeper.reading()) == estimate


def test_requests_are_ours_and_from_the_past() -> None:
    requests = TimeRequests()
    token = requests.new(12.3456)
    assert token.startswith("12345-") and requests.round_trip_ms(token, 12.5) == pytest.approx(155.0)
    assert requests.round_trip_ms(token, 12.0) is None  # sent after it arrived: not ours to believe
    assert TimeRequests().round_trip_ms(token, 12.5) is None  # another process's key
    forged = "12400-" + token.split("-")[1]  # a later send time under the same tag
    assert requests.round_trip_ms(forged, 12.5) is None
    assert requests.round_trip_ms(None, 12.5) is None


async def test_an_expired_looking_time_command_is_taken_only_when_it_echoes_our_request_and_not_over_ntp() -> None:
    clocks = Clocks()
    keeper = ClockKeeper(boot_id="b", clocks=clocks)
    keeper.cloud_time(T0, delay_bound_ms=400)
    assert not keeper.wants_time()
    assert keeper.takes_expired_time(time_command(T0 - 600_000)) is False  # may have waited in a broker
    assert keeper.trusted_ms() is not None and keeper.wants_time()  # or our clock runs ahead: ask to tell which
    answer = time_command(T0 - 600_000, echo=keeper.time_request())
    assert keeper.takes_expired_time(answer) is True
    assert keeper.trusted_ms() is not None  # taking it is the handler's business: the trust stays until then
    keeper.take_time(answer)
    assert not keeper.wants_time() and keeper.trusted_ms() == T0 - 600_000

    async def synced() -> NtpStatus:
        return NtpStatus(True, 12, "adjtimex")

    by_ntp = ClockKeeper(boot_id="b", ntp=synced, clocks=clocks)
    clocks.wall_ms = T0
    assert await by_ntp.refresh() is True
    assert by_ntp.takes_expired_time(time_command(T0 - 600_000, echo=by_ntp.time_request())) is False
