"""OwnedTask: started once, named, and stopped even when a cancellation is swallowed once."""

from __future__ import annotations

import asyncio

from edge.tasks import OwnedTask


async def test_start_is_once_and_the_task_is_named() -> None:
    owned = OwnedTask("sleeper")
    first = owned.start(lambda: asyncio.sleep(30))
    assert owned.start(lambda: asyncio.sleep(30)) is first and first.get_name() == "sleeper"
    await owned.stop()
    assert first.cancelled() and not owned.running


async def test_stop_ends_a_task_that_swallows_a_cancellation() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # what 3.11's wait_for does when the cancel races its inner await

    owned = OwnedTask("stubborn")
    task = owned.start(stubborn)
    await asyncio.sleep(0)
    await asyncio.wait_for(owned.stop(recancel_s=0.05), 5.0)
    assert task.done() and swallowed == 1


async def test_a_supervised_task_that_dies_is_restarted_and_one_that_keeps_dying_is_reported_broken() -> None:
    from edge.tasks import Supervised

    runs = 0
    reports: list[tuple[str, bool, str]] = []

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 3:
            raise RuntimeError(f"bug {runs}")
        await asyncio.sleep(30)

    supervised = Supervised("flaky", flaky, report=lambda *r: reports.append(r), initial_s=0.01, max_s=0.02,
                            give_up_after=3)
    supervised.start()
    for _ in range(200):
        if runs >= 4:
            break
        await asyncio.sleep(0.01)
    assert runs == 4 and supervised.restarts == 3  # restarted after each death, and now it runs
    assert supervised.broken and reports[-1][1] is False  # three deaths within the window: broken
    assert ("flaky", True, "running") in reports and any("bug 1" in detail for _n, _ok, detail in reports)
    await supervised.stop()
    assert not supervised.running
