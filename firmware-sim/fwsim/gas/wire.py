"""Modbus frames as the simulator puts them on the wire, pure: when a reply would end on a real RTU line, which
unit a frame belongs to, and corrupting a reply's check. Line timing itself is :mod:`protocols.modbus_rtu`."""

from __future__ import annotations

from protocols.modbus_rtu import frame_gap_s, wire_time_s

MBAP_UNIT_OFFSET = 6  # Modbus TCP: transaction id (2), protocol id (2), length (2), then the unit id


def reply_delay_s(request_bytes: int, reply_bytes: int, baudrate: int) -> float:
    """From the moment a request is in the slave's buffer (a pty delivers it at once) to the last byte of the
    reply on a real line: the request's own wire time, the end-of-frame silence, then the reply's wire time."""
    return wire_time_s(request_bytes, baudrate) + frame_gap_s(baudrate) + wire_time_s(reply_bytes, baudrate)


def unit_of(frame: bytes, *, rtu: bool) -> int | None:
    """The unit id an RTU or Modbus TCP frame is addressed to or comes from."""
    offset = 0 if rtu else MBAP_UNIT_OFFSET
    return frame[offset] if len(frame) > offset else None


def garble(frame: bytes, *, rtu: bool) -> bytes:
    """The frame with its check broken: on RTU the CRC bytes inverted; on TCP (no CRC) a non-Modbus protocol id
    in the MBAP header. Either way a master must discard it."""
    if rtu:
        if len(frame) < 3:
            return frame
        return frame[:-2] + bytes(b ^ 0xFF for b in frame[-2:])
    if len(frame) < 4:
        return frame
    return frame[:2] + b"\xff\xff" + frame[4:]


def gateway_no_response(frame: bytes) -> bytes:
    """A Modbus TCP reply turned into exception 0x0B (gateway target device failed to respond), as a TCP/RTU
    gateway answers for a unit id nobody behind it answers to."""
    if len(frame) < 8:
        return frame
    return frame[:4] + (3).to_bytes(2, "big") + frame[6:7] + bytes([frame[7] | 0x80, 0x0B])
