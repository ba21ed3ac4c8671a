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
