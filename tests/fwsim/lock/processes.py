"""Simulators as their own processes (``safegrid-sim lock`` / ``phone``), driven and watched from a test."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.rig import REPO_ROOT

WAIT_S = 20.0


def sim_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "fwsim.cli", "--json-logs", *args]


class SimProcess:
    """A ``safegrid-sim`` child: stdin is a pipe (the console), stdout and stderr go to files we poll."""

    def __init__(self, workdir: Path, name: str, *args: str) -> None:
        self.stdout_path = workdir / f"{name}.out"
        self.stderr_path = workdir / f"{name}.err"
        self.argv = sim_argv(*args)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> SimProcess:
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=out, stderr=err, cwd=REPO_ROOT)
        return self

    def logs(self) -> list[dict[str, Any]]:
        out = []
        for line in self.stderr_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    out.append(record)
        return out

    async def wait_log(self, event: str, timeout_s: float = WAIT_S, **match: Any) -> dict[str, Any]:
        """The first JSON log record with this ``event`` (and ``match`` fields); fails if the process dies."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            for record in self.logs():
                if record.get("event") == event and all(record.get(k) == val for k, val in match.items()):
                    return record
            if self.process is not None and self.process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {event!r} log from {self.argv[4:6]}:\n{self.tail()}")

    async def wait_output(self, text: str, timeout_s: float = WAIT_S) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            for line in self.stdout_path.read_text(errors="replace").splitlines():
                if text in line:
                    return line
            await asyncio.sleep(0.05)
        raise AssertionError(f"no output line with {text!r}:\n{self.tail()}")

    def command(self, line: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def stop(self, timeout_s: float = 10.0) -> int:
        """SIGTERM, then SIGKILL if it lingers; returns the exit code."""
        process = self.process
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout_s)
        if process.stdin is not None:
            process.stdin.close()
        return process.returncode

    def tail(self) -> str:
        return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-30:])
