"""Named, owned background tasks: one place that starts a coroutine once and stops it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any


class OwnedTask:
    """A background task with a fixed name, started at most once at a time and awaited on stop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._task: asyncio.Task[Any] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, factory: Callable[[], Coroutine[Any, Any, Any]]) -> asyncio.Task[Any]:
        """Start ``factory()`` unless already running; returns the task."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(factory(), name=self.name)
        return self._task

    async def stop(self, *, recancel_s: float = 1.0) -> None:
        """Cancel the task and wait until it has finished.

        The cancel is repeated every ``recancel_s`` while the task runs on: on Python 3.11 ``asyncio.wait_for``
        swallows a cancellation that lands just as its inner await completes, and a loop around it then carries
        on as if nothing happened — a stop (systemd's, a test's) must not hang on that.
        """
        task, self._task = self._task, None
        if task is None:
            return
        while not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=recancel_s)
        with contextlib.suppress(asyncio.CancelledError):
            await task
