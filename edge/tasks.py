"""Named, owned background tasks: one place that starts a coroutine once and stops it cleanly, and a supervisor
that keeps essential ones running.

:class:`Supervised` runs a coroutine factory forever: when the coroutine ends with an exception it is logged,
reported and started again after a back-off (0.5 s doubling to 30 s, reset after a minute of good running). A
task that died ``give_up_after`` times within ``window_s`` is reported *broken* (``report(name, False, …)``):
the daemon makes that a critical health failure, which withholds the systemd watchdog — it keeps restarting the
task meanwhile, since a restart of the whole daemon is only the last resort. Broken stays broken until the
daemon restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

log = structlog.get_logger(__name__)

#: Told ``(task name, ok, detail)`` when a supervised task starts, dies, or is given up as broken.
TaskReport = Callable[[str, bool, str], None]


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


class Supervised:
    """An essential task restarted whenever it dies (see the module's note); stop with :meth:`stop`."""

    def __init__(self, name: str, factory: Callable[[], Coroutine[Any, Any, Any]], *,
                 report: TaskReport | None = None, initial_s: float = 0.5, max_s: float = 30.0,
                 give_up_after: int = 5, window_s: float = 300.0) -> None:
        self.name = name
        self._factory = factory
        self._report = report
        self._initial_s, self._max_s = initial_s, max_s
        self._give_up_after, self._window_s = give_up_after, window_s
        self._owned = OwnedTask(f"supervise-{name}")
        self.deaths: list[float] = []  # monotonic times of the deaths within the window
        self.restarts = 0
        self.broken = False

    @property
    def running(self) -> bool:
        return self._owned.running

    def start(self) -> asyncio.Task[Any]:
        return self._owned.start(self._run)

    async def stop(self) -> None:
        await self._owned.stop()

    def _tell(self, ok: bool, detail: str) -> None:
        if self._report is not None:
            self._report(self.name, ok, detail)

    async def _run(self) -> None:
        delay = self._initial_s
        while True:
            started = time.monotonic()
            self._tell(not self.broken, "running" if not self.broken else self._broken_detail())
            task = asyncio.get_running_loop().create_task(self._factory(), name=self.name)
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                # Stop the child for good before ending (it may swallow a cancel, and our stopper re-cancels us).
                while not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.wait([task], timeout=1.0)
                raise
            except Exception as exc:
                now = time.monotonic()
                self.deaths = [t for t in self.deaths if now - t < self._window_s] + [now]
                if now - started > 60.0:
                    delay = self._initial_s
                log.error("task died", task=self.name, error=repr(exc), restart_in_s=round(delay, 2),
                          deaths_in_window=len(self.deaths), exc_info=exc)
                if len(self.deaths) >= self._give_up_after and not self.broken:
                    self.broken = True
                    log.critical("task keeps dying", task=self.name, deaths=len(self.deaths),
                                 window_s=self._window_s)
                self._tell(not self.broken, self._broken_detail() if self.broken
                           else f"restarting after {type(exc).__name__}: {exc}")
            else:
                log.error("task ended", task=self.name, restart_in_s=round(delay, 2))
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_s)
            self.restarts += 1

    def _broken_detail(self) -> str:
        return f"died {len(self.deaths)} times within {self._window_s:g} s"
