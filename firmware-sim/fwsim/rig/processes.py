"""Starting, watching and stopping the external processes of a simulated site (the test rig, the demo, the benchmarks).

Each service writes its output to a log file in its own temp dir (no reader threads, so nothing
here can leak a thread), and the test rig shows the tail of that log when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

LOG_TAIL_LINES = 60


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the kernel picks it; tiny race accepted for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def is_listening(host: str, port: int, pid: int | None = None) -> bool:
    """Whether a TCP socket is in LISTEN state on host:port (owned by ``pid`` if given), read from /proc.

    Not connecting matters for servers that treat every connection as their one client (bumble's
    tcp-server transport does); checking the owner matters when another process holds the port.
    """
    wanted = {f"{_proc_net_ip(host)}:{port:04X}", f"00000000:{port:04X}"}
    listen_state = "0A"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) > 9 and fields[3] == listen_state and fields[1] in wanted:
            inodes.add(fields[9])
    if pid is None or not inodes:
        return bool(inodes)
    return bool(inodes & _socket_inodes(pid))


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
    return inodes


def _proc_net_ip(host: str) -> str:
    # /proc/net/tcp prints IPv4 addresses as the little-endian hex of the 32-bit value.
    packed = socket.inet_aton(host)
    return packed[::-1].hex().upper()


def accepts_connections(host: str, port: int) -> bool:
    """Whether a TCP connect to host:port succeeds now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(
    condition: Callable[[], bool], timeout_s: float, what: str, on_poll: Callable[[], None] | None = None
) -> None:
    """Poll ``condition`` every 20 ms until true; ``on_poll`` may raise (e.g. the process died)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return
        if on_poll is not None:
            on_poll()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.02)


class ServiceError(RuntimeError):
    """A rig service failed to start or stop; the message carries the tail of its log."""


class ManagedProcess:
    """One child process with its output appended to a log file; stop() terminates then kills."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.running else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        if self.running:
            raise ServiceError(f"{self.name} is already running")
        with open(self.log_path, "ab") as log:
            log.write(f"--- starting: {' '.join(argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                # Own process group: a Ctrl-C in the terminal must not kill services mid-teardown.
                start_new_session=True,
            )

    def check_alive(self) -> None:
        """Raise ServiceError with the log tail if the process has exited."""
        if self.process is not None and self.process.poll() is not None:
            raise ServiceError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")

    def send_signal(self, signum: int) -> None:
        if self.running and self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)

    def stop(self, timeout_s: float = 5.0, signum: int = signal.SIGTERM) -> None:
        """Signal the process and reap it; SIGKILL if it does not exit within ``timeout_s``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.send_signal(signum)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout_s)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (a crash or power loss, seen from outside)."""
        self.stop(signum=signal.SIGKILL)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return read_log_tail(self.log_path, lines)


def read_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path.name})"
    return "\n".join(text.splitlines()[-lines:])

