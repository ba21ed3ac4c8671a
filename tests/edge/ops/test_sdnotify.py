"""sd_notify against a real unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.ops.sdnotify import Notifier, WatchdogPinger, watchdog_interval
from tests.rig.waiting import eventually


@pytest.fixture
def systemd_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify"
    sock.bind(str(path))
    sock.settimeout(5.0)
    yield sock, str(path)
    sock.close()


def receive(sock: socket.socket) -> dict[str, str]:
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.split("\n"))


def drain(sock: socket.socket) -> list[bytes]:
    """Every datagram waiting on the socket, without blocking."""
    out = []
    sock.setblocking(False)
    while True:
        try:
            out.append(sock.recv(4096))
        except BlockingIOError:
            return out


def test_ready_status_stopping_arrive_as_datagrams(systemd_socket: tuple[socket.socket, str]) -> None:
    sock, path = systemd_socket
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": path})
    try:
        assert notifier.enabled
        assert notifier.ready("polling 3 detectors")
        assert receive(sock) == {"READY": "1", "STATUS": "polling 3 detectors"}
        assert notifier.status("line one\nline two")
        assert receive(sock) == {"STATUS": "line one line two"}  # a newline cannot inject another assignment
        assert notifier.watchdog()
        assert receive(sock) == {"WATCHDOG": "1"}
        assert notifier.stopping()
        assert receive(sock) == {"STOPPING": "1"}
    finally:
        notifier.close()


def test_abstract_namespace_address() -> None:
    name = f"safegrid-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5.0)
    notifier = Notifier(f"@{name}")
    try:
        assert notifier.ready()
        assert receive(sock) == {"READY": "1"}
    finally:
        notifier.close()
        sock.close()


def test_without_notify_socket_everything_is_a_no_op() -> None:
    notifier = Notifier.from_environment({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog() is False
    notifier.close()


def test_a_vanished_socket_is_logged_not_raised(tmp_path: Path) -> None:
    notifier = Notifier(str(tmp_path / "gone"))
    try:
        assert notifier.watchdog() is False
    finally:
        notifier.close()


def test_watchdog_interval_is_half_the_period_and_only_for_this_process() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}) is None
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}) is None


async def test_pinger_pings_only_while_healthy(systemd_socket: tuple[socket.socket, str]) -> None:
    sock, path = systemd_socket
    notifier = Notifier(path)
    state = {"healthy": True}
    pinger = WatchdogPinger(notifier, 0.01, lambda: state["healthy"])
    task = pinger.start()
    try:
        assert task.get_name() == "sd-watchdog"
        await eventually(lambda: pinger.pings >= 3)
        state["healthy"] = False
        pings_before = pinger.pings
        await eventually(lambda: pinger.withheld >= 3)
        state["healthy"] = True
        await eventually(lambda: pinger.pings >= pings_before + 2)
    finally:
        await pinger.stop()
        notifier.close()
    # One datagram per ping and nothing else: the withheld periods sent nothing.
    assert drain(sock) == [b"WATCHDOG=1"] * pinger.pings
    assert pinger.withheld >= 3
    assert task.done()


async def test_a_crashing_health_check_withholds_the_ping(systemd_socket: tuple[socket.socket, str]) -> None:
    sock, path = systemd_socket
    notifier = Notifier(path)

    def broken() -> bool:
        raise RuntimeError("probe failed")

    pinger = WatchdogPinger(notifier, 0.01, broken)
    pinger.start()
    try:
        await eventually(lambda: pinger.withheld >= 2)
    finally:
        await pinger.stop()
        notifier.close()
    assert pinger.pings == 0
    assert drain(sock) == []
