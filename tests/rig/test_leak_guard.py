"""The leak guard catches leaked threads, child processes and asyncio tasks, and lets clean tests pass."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from tests.rig import REPO_ROOT
from tests.rig.leaks import LeakSnapshot, find_leaked_tasks, find_leaks

QUICK_S = 0.1


def test_a_thread_started_and_left_running_is_reported() -> None:
    before = LeakSnapshot()
    release = threading.Event()
    leaked = threading.Thread(target=release.wait, name="deliberate-leak", daemon=True)
    leaked.start()
    try:
        reports = find_leaks(before, grace_s=QUICK_S)
    finally:
        release.set()
        leaked.join()
    assert len(reports) == 1
    assert "deliberate-leak" in reports[0] and "daemon=True" in reports[0]


def test_a_thread_that_finishes_within_the_grace_period_is_not_a_leak() -> None:
    before = LeakSnapshot()
    finishing = threading.Timer(0.05, lambda: None)
    finishing.start()
    assert find_leaks(before, grace_s=2.0) == []


def test_a_running_child_process_is_reported_unless_exempt() -> None:
    before = LeakSnapshot()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        reports = find_leaks(before, grace_s=QUICK_S)
        assert len(reports) == 1
        assert f"pid {child.pid}" in reports[0] and "time.sleep(60)" in reports[0]
        assert find_leaks(before, exempt_pids=lambda: {child.pid}, grace_s=QUICK_S) == []
    finally:
        child.kill()
        child.wait()
    assert find_leaks(before, grace_s=QUICK_S) == []


def test_a_child_never_waited_for_is_reported_as_a_zombie() -> None:
    before = LeakSnapshot()
    child = subprocess.Popen(["true"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, but deliberately not reaped
        reports = find_leaks(before, grace_s=QUICK_S)
        assert len(reports) == 1 and "zombie" in reports[0]
    finally:
        child.wait()


async def test_a_pending_task_is_reported_and_cancelled() -> None:
    before = asyncio.all_tasks()
    leaked = asyncio.create_task(asyncio.sleep(60), name="deliberate-task-leak")
    reports = await find_leaked_tasks(before, grace_s=QUICK_S)
    assert len(reports) == 1 and "deliberate-task-leak" in reports[0]
    assert leaked.cancelled()


async def test_a_task_that_finishes_within_the_grace_period_is_not_a_leak() -> None:
    before = asyncio.all_tasks()
    finishing = asyncio.create_task(asyncio.sleep(0.05))
    assert await find_leaked_tasks(before, grace_s=2.0) == []
    assert finishing.done() and not finishing.cancelled()


LEAKY_TESTS = textwrap.dedent(
    """
    import asyncio
    import subprocess
    import threading

    import pytest

    STOP = threading.Event()
    LEAKED = []

    def test_clean():
        worker = threading.Thread(target=lambda: None)
        worker.start()
        worker.join()

    def test_leaks_thread():
        threading.Thread(target=STOP.wait, name="leaky-thread", daemon=True).start()

    def test_leaks_process():
        LEAKED.append(subprocess.Popen(["sleep", "30"]))

    async def test_leaks_task():
        asyncio.create_task(asyncio.sleep(30), name="leaky-task")

    async def test_clean_async():
        await asyncio.create_task(asyncio.sleep(0))

    @pytest.mark.soak
    def test_long_soak():
        pass

    def test_zz_tidy_up_after_the_leaky_tests():
        STOP.set()
        for process in LEAKED:
            process.kill()
            process.wait()
    """
)

# The rig's real hooks and fixtures, imported into a throwaway project's conftest.
RIG_CONFTEST = textwrap.dedent(
    """
    import tests.rig.leaks
    from tests.conftest import (
        _asyncio_task_guard_function,
        leak_guard,
        pytest_addoption,
        pytest_collection_modifyitems,
        pytest_configure,
    )

    tests.rig.leaks.GRACE_S = 0.2  # the leaks here are permanent: no need to wait the full grace period
    """
)


def test_the_autouse_guard_fails_leaky_tests_in_a_real_pytest_run(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(RIG_CONFTEST)
    (tmp_path / "test_leaky.py").write_text(LEAKY_TESTS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-q", "-o", "asyncio_mode=auto",
         "-o", "asyncio_default_fixture_loop_scope=function", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert re.search(r"6 passed, 1 skipped, 3 errors", output), output
    assert "leaked thread 'leaky-thread'" in output
    assert re.search(r"leaked child process pid \d+: sleep 30", output)
    assert "leaked asyncio task 'leaky-task'" in output
    assert "soak test: run with --soak" in output
