"""The rig's serial line: bytes cross a raw pty pair both ways, and the line can be unplugged and replugged."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import serial

from fwsim.rig.availability import find_binary
from fwsim.rig.serial_line import PtyLine

ALL_BYTES = bytes(range(256))  # raw mode: no CR/LF translation, no ^C/^S handling, no echo
READ_TIMEOUT_S = 5.0


@pytest.fixture(params=["fixture", "openpty"])
def line(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PtyLine]:
    """The ``serial_pty`` fixture itself, and the openpty fallback it uses when socat is missing."""
    if request.param == "fixture":
        yield request.getfixturevalue("serial_pty")
        return
    fallback = PtyLine(tmp_path_factory.mktemp("serial-fallback"), socat=None)
    fallback.replug()
    yield fallback
    fallback.unplug()


def open_port(path: str) -> serial.Serial:
    return serial.Serial(path, baudrate=9600, timeout=READ_TIMEOUT_S)


def read_exactly(port: serial.Serial, size: int) -> bytes:
    data = port.read(size)
    assert len(data) == size, f"read {len(data)} of {size} bytes"
    return data


def test_bytes_cross_both_ways_unchanged(line: PtyLine) -> None:
    with open_port(line.a) as a, open_port(line.b) as b:
        a.write(ALL_BYTES)
        assert read_exactly(b, len(ALL_BYTES)) == ALL_BYTES
        b.write(b"\r\n\x03\x11\x13reply")
        assert read_exactly(a, 10) == b"\r\n\x03\x11\x13reply"
        assert b.in_waiting == 0  # no echo of what a wrote came back to b's reader


def test_a_closed_end_can_be_reopened_while_the_line_stays_up(line: PtyLine) -> None:
    with open_port(line.b) as b:
        with open_port(line.a) as a:
            a.write(b"first")
        assert read_exactly(b, 5) == b"first"
        with open_port(line.a) as a:
            b.write(b"second")
            assert read_exactly(a, 6) == b"second"
    assert line.plugged


def test_unplug_hangs_up_open_ends_and_replug_restores_the_same_paths(line: PtyLine) -> None:
    paths = (line.a, line.b)
    a = open_port(line.a)
    try:
        line.unplug()
        assert not line.plugged
        with pytest.raises(serial.SerialException):
            a.read(1)  # a pulled adapter: the open port errors instead of blocking forever
    finally:
        a.close()

    line.replug()
    assert (line.a, line.b) == paths
    assert all(os.path.exists(path) for path in paths)
    with open_port(line.a) as a, open_port(line.b) as b:
        b.write(b"after replug")
        assert read_exactly(a, 12) == b"after replug"


def test_the_fixture_says_which_mechanism_it_uses(serial_pty: PtyLine) -> None:
    assert serial_pty.mode == ("socat" if find_binary("socat") else "openpty")
