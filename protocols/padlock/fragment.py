"""Fragmentation of padlock messages to the negotiated ATT MTU, and strict reassembly.

Every write or notification carries one fragment of at most ``mtu - 3`` bytes. Header byte 0:

- ``0x80`` — first fragment; bytes 1–2 are the total message length (big-endian, 1..4096), then data.
- ``0x00``–``0x7F`` — continuation; the low 7 bits are the fragment's index mod 128 (1, 2, … 127, 0, 1, …).

A side sends one message's fragments back to back, never interleaved with another message's.
"""

from __future__ import annotations

from enum import Enum, auto

from protocols.errors import FragmentError
from protocols.padlock.gatt import ATT_HEADER_LEN, DEFAULT_ATT_MTU, MAX_ATT_MTU, MAX_MESSAGE_BYTES

FIRST = 0x80
SEQ_MASK = 0x7F
FIRST_HEADER_LEN = 3
CONTINUATION_HEADER_LEN = 1
_LENGTH_LIMIT = 0xFFFF  # what two length bytes can say


def payload_size(mtu: int) -> int:
    """Bytes per write or notification at this ATT MTU (the ATT header takes 3)."""
    if not isinstance(mtu, int) or not DEFAULT_ATT_MTU <= mtu <= MAX_ATT_MTU:
        raise FragmentError(f"ATT MTU must be {DEFAULT_ATT_MTU}..{MAX_ATT_MTU}, got {mtu!r}", field="mtu")
    return mtu - ATT_HEADER_LEN


def fragment(message: bytes, mtu: int = DEFAULT_ATT_MTU, *, max_message: int = MAX_MESSAGE_BYTES) -> list[bytes]:
    """Split ``message`` into fragments for one ATT MTU; FragmentError when empty or over ``max_message``."""
    size = payload_size(mtu)
    if not message:
        raise FragmentError("an empty message cannot be sent", field="message")
    if len(message) > min(max_message, _LENGTH_LIMIT):
        raise FragmentError(f"{len(message)}-byte message exceeds {max_message}", code="oversize", field="message")
    first_data = size - FIRST_HEADER_LEN
    out = [bytes([FIRST]) + len(message).to_bytes(2, "big") + message[:first_data]]
    step = size - CONTINUATION_HEADER_LEN
    for index, start in enumerate(range(first_data, len(message), step), start=1):
        out.append(bytes([index & SEQ_MASK]) + message[start:start + step])
    return out


class _State(Enum):
    IDLE = auto()  # waiting for a first fragment
    RECEIVING = auto()  # inside a message
    RESYNC = auto()  # after an error: continuations are dropped quietly until the next first fragment


class Reassembler:
    """Rebuilds messages from fragments; refuses oversize, out-of-order, duplicate and truncated input.

    ``feed`` returns the message when its last fragment arrives, else None. An error is raised once per
    broken message (codes ``malformed``, ``oversize``, ``out_of_order``, ``duplicate``, ``truncated``); the
    partial message is dropped and later continuations of it are ignored until a new first fragment.
    Call ``reset`` when the link drops. Memory is bounded by ``max_message``.
    """

    def __init__(self, max_message: int = MAX_MESSAGE_BYTES, *, mtu: int | None = None) -> None:
        if not 1 <= max_message <= _LENGTH_LIMIT:
            raise FragmentError(f"max_message must be 1..{_LENGTH_LIMIT}", field="max_message")
        self.max_message = max_message
        self.max_fragment = payload_size(mtu) if mtu is not None else MAX_ATT_MTU - ATT_HEADER_LEN
        self._state = _State.IDLE
        self._buffer = bytearray()
        self._total = 0
        self._next_seq = 0
        self._first_fragment = b""

    @property
    def in_progress(self) -> bool:
        return self._state is _State.RECEIVING

    def set_mtu(self, mtu: int) -> None:
        """Adopt the MTU negotiated on this link (fragments larger than it are refused)."""
        self.max_fragment = payload_size(mtu)

    def reset(self) -> bool:
        """Forget any partial message (the link dropped); True when one was discarded."""
        discarded = self._state is _State.RECEIVING
        self._state = _State.IDLE
        self._buffer = bytearray()
        return discarded

    def _refuse(self, message: str, code: str) -> FragmentError:
        self._state = _State.RESYNC
        self._buffer = bytearray()
        return FragmentError(message, code=code, field="fragment")

    def feed(self, data: bytes) -> bytes | None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise FragmentError("a fragment must be bytes", field="fragment")
        data = bytes(data)
        if not data:
            raise self._refuse("empty fragment", "malformed")
        if len(data) > self.max_fragment:
            raise self._refuse(f"{len(data)}-byte fragment exceeds the {self.max_fragment}-byte payload", "oversize")
        if data[0] & FIRST:
            return self._first(data)
        return self._continuation(data)

    def _first(self, data: bytes) -> bytes | None:
        was_receiving = self._state is _State.RECEIVING
        if data[0] != FIRST or len(data) < FIRST_HEADER_LEN:
            raise self._refuse("malformed first fragment", "malformed")
        if was_receiving and self._next_seq == 1 and data == self._first_fragment:
            raise self._refuse("duplicate first fragment", "duplicate")
        if was_receiving:
            # The message in progress lost its tail; this first fragment is dropped too (one error per mess).
            raise self._refuse(f"message truncated at {len(self._buffer)} of {self._total} bytes", "truncated")
        total = int.from_bytes(data[1:3], "big")
        if total == 0:
            raise self._refuse("zero-length message", "malformed")
        if total > self.max_message:
            raise self._refuse(f"{total}-byte message exceeds the {self.max_message}-byte limit", "oversize")
        self._state, self._total, self._next_seq = _State.RECEIVING, total, 1
        self._buffer, self._first_fragment = bytearray(), data
        return self._append(data[FIRST_HEADER_LEN:])

    def _continuation(self, data: bytes) -> bytes | None:
        if self._state is _State.RESYNC:
            return None
        seq = data[0] & SEQ_MASK
        if self._state is _State.IDLE:
            raise self._refuse("continuation fragment without a first fragment", "out_of_order")
        if seq != self._next_seq:
            if seq == (self._next_seq - 1) & SEQ_MASK:
                raise self._refuse(f"duplicate fragment {seq}", "duplicate")
            raise self._refuse(f"fragment {seq} where {self._next_seq} was expected", "out_of_order")
        self._next_seq = (self._next_seq + 1) & SEQ_MASK
        return self._append(data[CONTINUATION_HEADER_LEN:])

    def _append(self, chunk: bytes) -> bytes | None:
        if len(self._buffer) + len(chunk) > self._total:
            raise self._refuse("fragment data runs past the announced length", "malformed")
        if not chunk and len(self._buffer) < self._total:
            raise self._refuse("fragment without data", "malformed")
        self._buffer += chunk
        if len(self._buffer) < self._total:
            return None
        message = bytes(self._buffer)
        self._state, self._buffer = _State.IDLE, bytearray()
        return message
