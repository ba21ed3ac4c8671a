"""Bounded, strict CBOR decoding: exactly one item, a size cap, no exception but CborError."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import cbor2

from protocols.errors import CborError, ProtocolError

#: The largest CBOR item any SafeGrid format accepts (a BLE message is at most 4 KiB).
DEFAULT_MAX_BYTES = 16 * 1024


def dumps(value: Any) -> bytes:
    """Encode deterministically (RFC 8949 §4.2: canonical map order) so signatures are reproducible."""
    return cbor2.dumps(value, canonical=True)


def loads(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, error: type[ProtocolError] = CborError) -> Any:
    """Decode exactly one CBOR item from ``data``; raise ``error`` (code ``malformed``) on anything else."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise error(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise error(f"{len(data)} bytes exceeds the {max_bytes}-byte limit", code="malformed")
    if not data:
        raise error("empty input", code="malformed")
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except RecursionError as exc:
        raise error("CBOR nested too deeply", code="malformed") from exc
    except Exception as exc:  # cbor2 raises many types (ValueError, OverflowError, CBORDecodeError…)
        raise error(f"invalid CBOR: {exc}", code="malformed") from exc
    if stream.tell() != len(data):
        raise error(f"{len(data) - stream.tell()} trailing bytes after the CBOR item", code="malformed")
    try:
        return _thaw(value)
    except RecursionError as exc:  # shared-reference tags (28/29) can make a value that contains itself
        raise error("CBOR value refers to itself", code="malformed") from exc


_ATOMS = frozenset({bytes, str, int, bool, float, type(None)})


def _thaw(value: Any) -> Any:
    """Plain lists and dicts everywhere: cbor2 decodes a tag's content as tuples and frozen dicts."""
    kind = type(value)
    if kind in _ATOMS:  # fast paths by exact type: this runs on every item of every message
        return value
    if kind is dict:
        return {k: _thaw(v) for k, v in value.items()}
    if kind is list:
        return [_thaw(v) for v in value]
    if isinstance(value, cbor2.CBORTag):
        return cbor2.CBORTag(value.tag, _thaw(value.value))
    if isinstance(value, list | tuple):
        return [_thaw(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    return value
