"""A serial line as a pair of pseudo-terminals: bytes written on one end come out of the other.

Preferred: ``socat`` joining two ptys, each reachable through a symlink in a temp dir, so the
paths stay the same when the line is unplugged and plugged back in (the USB-adapter case).
Fallback without socat: two ``os.openpty`` pairs joined by a small pump thread, same symlinks.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import tty
from pathlib import Path

from fwsim.rig.processes import ManagedProcess, ServiceError, wait_until

START_TIMEOUT_S = 10.0
_SOCAT_READY = "starting data transfer loop"


class PtyLine:
    """Two ends ``a`` and ``b`` (stable symlink paths) of one raw, echo-free line.

    ``unplug()`` tears the line down: open ends see a hang-up (read errors / EOF) like a pulled
    USB adapter; ``replug()`` creates a new line behind the same paths, which clients must reopen.
    ``mode`` says which mechanism is in use: "socat" or "openpty".
    """

    def __init__(self, workdir: Path, socat: str | None) -> None:
        """``socat``: path of the socat binary, or None for the openpty fallback."""
        self.workdir = workdir
        self.a = str(workdir / "ttyA")
        self.b = str(workdir / "ttyB")
        self.socat = socat
        self.mode = "socat" if socat else "openpty"
        self._process = ManagedProcess("socat", workdir / "socat.log")
        self._pump: _PtyPump | None = None

    @property
    def plugged(self) -> bool:
        if self.mode == "socat":
            return self._process.running
        return self._pump is not None

    def replug(self) -> None:
        """(Re)create the line behind the same two paths."""
        if self.plugged:
            raise ServiceError("serial line is already plugged in")
        for link in (self.a, self.b):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(link)
        if self.mode == "socat":
            self._start_socat()
        else:
            self._pump = _PtyPump(self.a, self.b)

    start = replug

    def unplug(self) -> None:
        """Tear the line down; open ends see a hang-up."""
        if self.mode == "socat":
            self._process.stop(signum=signal.SIGTERM)
        elif self._pump is not None:
            self._pump.close()
            self._pump = None

    close = unplug

    def _start_socat(self) -> None:
        assert self.socat is not None
        ready_before = self._ready_count()
        end = "pty,raw,echo=0,link={}"
        self._process.start([self.socat, "-d", "-d", end.format(self.a), end.format(self.b)], cwd=self.workdir)
        try:
            wait_until(
                lambda: self._ready_count() > ready_before and os.path.exists(self.a) and os.path.exists(self.b),
                START_TIMEOUT_S,
                "socat pty pair",
                on_poll=self._process.check_alive,
            )
        except TimeoutError as exc:
            self._process.stop()
            raise ServiceError(f"{exc}\n{self.log_tail()}") from exc

    def _ready_count(self) -> int:
        try:
            return self._process.log_path.read_text(errors="replace").count(_SOCAT_READY)
        except FileNotFoundError:
            return 0

    def pids(self) -> set[int]:
        pid = self._process.pid
        return {pid} if pid is not None else set()

    def log_tail(self, lines: int = 60) -> str:
        if self.mode == "socat":
            return self._process.log_tail(lines)
        return "(openpty mode: no log)"

    def __repr__(self) -> str:
        return f"PtyLine(a={self.a}, b={self.b}, mode={self.mode}, plugged={self.plugged})"


class _PtyPump:
    """Two openpty pairs whose masters are joined by one thread copying bytes both ways."""

    def __init__(self, link_a: str, link_b: str) -> None:
        self._masters: list[int] = []
        self._slaves: list[int] = []
        for link in (link_a, link_b):
            master, slave = os.openpty()
            tty.setraw(slave)  # raw and no echo, like socat's pty,raw,echo=0
            os.symlink(os.ttyname(slave), link)
            self._masters.append(master)
            self._slaves.append(slave)
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="rig-pty-pump", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        peer = {self._masters[0]: self._masters[1], self._masters[1]: self._masters[0]}
        while True:
            readable, _, _ = select.select([*peer, self._wake_r], [], [])
            if self._wake_r in readable:
                return
            for master in readable:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    continue  # no slave open right now (EIO): nothing to forward
                if data:
                    os.write(peer[master], data)

    def close(self) -> None:
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=5)
        # Closing the masters hangs up whatever still has the slave ends open.
        for fd in [*self._masters, *self._slaves, self._wake_r, self._wake_w]:
            with contextlib.suppress(OSError):
                os.close(fd)
