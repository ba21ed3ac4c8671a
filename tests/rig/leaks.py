"""Detecting what a test leaves behind: threads, child processes and pending asyncio tasks.

Used by the autouse leak guard in ``tests/conftest.py``: a snapshot before the test, and after
its teardown a check that polls for a short grace period (so a thread that is just finishing is
not a false alarm) and then names whatever is still there.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

GRACE_S = 2.0
POLL_S = 0.05

# Threads that libraries start once per process and never stop. Each entry needs its reason;
# the list is empty on purpose: nothing used by the suite so far needs an exception.
KNOWN_GLOBAL_THREAD_PREFIXES: dict[str, str] = {}


def child_pids(parent: int | None = None) -> set[int]:
    """Direct children of ``parent`` (default: this process), zombies included, from /proc."""
    parent = os.getpid() if parent is None else parent
    children: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # Fields after the parenthesised command (which may itself contain spaces or parentheses).
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            children.add(int(entry.name))
    return children


def describe_pid(pid: int) -> str:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return f"pid {pid} (gone)"
    zombie = " [zombie: never waited for]" if state == "Z" else ""
    return f"pid {pid}: {cmdline or '?'}{zombie}"


def _is_known_global(thread: threading.Thread) -> bool:
    return any(thread.name.startswith(prefix) for prefix in KNOWN_GLOBAL_THREAD_PREFIXES)


@dataclass
class LeakSnapshot:
    """What existed before the test: those threads and children are not the test's to clean up."""

    threads: set[threading.Thread] = field(default_factory=lambda: set(threading.enumerate()))
    children: set[int] = field(default_factory=child_pids)

    def new_threads(self) -> list[threading.Thread]:
        return [
            thread
            for thread in threading.enumerate()
            if thread not in self.threads and thread.is_alive() and not _is_known_global(thread)
        ]

    def new_children(self, exempt: Iterable[int] = ()) -> set[int]:
        multiprocessing.active_children()  # reaps finished multiprocessing children as a side effect
        return child_pids() - self.children - set(exempt)


def find_leaks(
    before: LeakSnapshot,
    exempt_pids: Callable[[], Iterable[int]] = lambda: (),
    grace_s: float | None = None,
) -> list[str]:
    """Poll up to ``grace_s`` (default GRACE_S) for threads/children started since ``before`` to go; describe
    those that stay."""
    deadline = time.monotonic() + (GRACE_S if grace_s is None else grace_s)
    while True:
        threads = before.new_threads()
        children = before.new_children(exempt_pids())
        if (not threads and not children) or time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    leaks = [f"leaked thread {thread.name!r} (daemon={thread.daemon}, target={_target(thread)})" for thread in threads]
    leaks += [f"leaked child process {describe_pid(pid)}" for pid in sorted(children)]
    return leaks


def _target(thread: threading.Thread) -> str:
    target = getattr(thread, "_target", None)
    return getattr(target, "__qualname__", repr(target)) if target is not None else type(thread).__qualname__


def pending_tasks(before: Iterable[asyncio.Task[object]] = ()) -> list[asyncio.Task[object]]:
    """Tasks of the running loop, other than the caller and those in ``before``, that are not done."""
    current = asyncio.current_task()
    known = set(before)
    return [task for task in asyncio.all_tasks() if task is not current and task not in known and not task.done()]


async def find_leaked_tasks(
    before: Iterable[asyncio.Task[object]] = (), grace_s: float | None = None
) -> list[str]:
    """Give pending tasks ``grace_s`` (default GRACE_S) to finish; cancel and describe the ones that do not."""
    before = set(before)
    deadline = time.monotonic() + (GRACE_S if grace_s is None else grace_s)
    # Re-checked after each wait: a finishing task may start another one.
    while (leaked := pending_tasks(before)) and (remaining := deadline - time.monotonic()) > 0:
        await asyncio.wait(leaked, timeout=remaining)
    descriptions = [f"leaked asyncio task {task.get_name()!r}: {task.get_coro()!r}" for task in leaked]
    for task in leaked:
        task.cancel()
    if leaked:
        # Let the cancellations run so the loop closes cleanly; the test fails on the report, not on this.
        await asyncio.gather(*leaked, return_exceptions=True)
    return descriptions
