"""Modbus RTU line timing, from the Modbus over serial line specification (V1.02, 2.5.1.1).

Every character is 11 bits on the wire (start, 8 data, parity or a second stop bit, stop). A frame ends with
at least 3.5 character times of silence; above 19,200 baud the spec fixes that gap at 1.75 ms. At 9600 baud a
character takes 1.146 ms and the gap is 4.01 ms, so a master can finish at most one short exchange every ~46 ms.
"""

from __future__ import annotations

BITS_PER_CHAR = 11
FIXED_GAP_ABOVE_BAUD = 19200
FIXED_GAP_S = 0.00175


def char_time_s(baudrate: int) -> float:
    """Seconds per character at ``baudrate``."""
    return BITS_PER_CHAR / baudrate


def frame_gap_s(baudrate: int) -> float:
    """The inter-frame silence: 3.5 character times, or 1.75 ms above 19,200 baud."""
    if baudrate > FIXED_GAP_ABOVE_BAUD:
        return FIXED_GAP_S
    return 3.5 * char_time_s(baudrate)


def wire_time_s(frame_bytes: int, baudrate: int) -> float:
    """How long a frame of ``frame_bytes`` occupies the line, without the silence after it."""
    return frame_bytes * char_time_s(baudrate)


def transaction_time_s(request_bytes: int, reply_bytes: int, baudrate: int) -> float:
    """The least time one request/reply exchange holds the line: both frames and the silence after each."""
    return wire_time_s(request_bytes + reply_bytes, baudrate) + 2 * frame_gap_s(baudrate)


def read_request_bytes() -> int:
    """An RTU read request (functions 1-4): unit, function, start (2), count (2), CRC (2)."""
    return 8


def read_reply_bytes(function: int, count: int) -> int:
    """An RTU reply to a read of ``count`` registers (3, 4) or bits (1, 2): unit, function, byte count, data, CRC."""
    data = 2 * count if function in (3, 4) else (count + 7) // 8
    return 5 + data
