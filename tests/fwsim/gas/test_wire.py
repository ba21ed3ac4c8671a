"""RTU timing and reply corruption (pure)."""

from __future__ import annotations

import pytest
from pymodbus.framer import FramerRTU

from fwsim.gas.wire import garble, gateway_no_response, reply_delay_s, unit_of
from protocols.modbus_rtu import char_time_s, frame_gap_s, read_reply_bytes, transaction_time_s, wire_time_s


def test_9600_baud_figures_match_the_serial_line_spec() -> None:
    assert char_time_s(9600) == pytest.approx(0.0011458, rel=1e-4)
    assert frame_gap_s(9600) == pytest.approx(0.00401, abs=1e-5)
    assert frame_gap_s(38400) == 0.00175
    # Live block of a 4-gas detector: 8-byte request, 25-byte reply, two gaps.
    assert read_reply_bytes(4, 10) == 25 and read_reply_bytes(1, 4) == 6
    assert transaction_time_s(8, 25, 9600) == pytest.approx(33 * 11 / 9600 + 7 * 11 / 9600)
    assert reply_delay_s(8, 25, 9600) == pytest.approx(wire_time_s(33, 9600) + frame_gap_s(9600))


def test_garbled_rtu_reply_fails_the_crc_and_keeps_its_data() -> None:
    body = bytes([1, 4, 2, 0, 209])
    frame = body + FramerRTU.compute_CRC(body).to_bytes(2, "big")
    bad = garble(frame, rtu=True)
    assert bad[:-2] == body and bad != frame
    assert not FramerRTU.check_CRC(bad[:-2], int.from_bytes(bad[-2:], "big"))
    assert unit_of(frame, rtu=True) == 1


def test_garbled_tcp_reply_has_a_foreign_protocol_id() -> None:
    frame = bytes([0, 7, 0, 0, 0, 5, 3, 4, 2, 0, 209])
    assert garble(frame, rtu=False)[2:4] == b"\xff\xff"
    assert unit_of(frame, rtu=False) == 3
    assert unit_of(b"", rtu=True) is None


def test_gateway_exception_for_an_unreachable_unit() -> None:
    reply = bytes([0, 7, 0, 0, 0, 3, 42, 4, 2])  # exception 2 from nobody
    assert gateway_no_response(reply) == bytes([0, 7, 0, 0, 0, 3, 42, 0x84, 0x0B])
