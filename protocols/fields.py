"""Typed, strict reading of the integer-keyed CBOR maps that tokens, revocation lists and padlock messages use.

Each getter checks type and size and raises ``GattError`` naming the field; ``finish`` refuses keys the
map should not have, so a decoded message re-encodes to the same bytes.
"""

from __future__ import annotations

from typing import Any

from protocols import cbor
from protocols.errors import GattError, ProtocolError

UINT64_MAX = 2**64 - 1


def load_map(data: bytes, *, what: str, max_bytes: int, error: type[ProtocolError] = GattError) -> FieldReader:
    """Decode one CBOR map from ``data`` (at most ``max_bytes``) and wrap it for field reading."""
    return FieldReader(cbor.loads(data, max_bytes=max_bytes, error=error), what=what, error=error)


class FieldReader:
    """Reads fields off one decoded CBOR map; every failure is ``error`` with ``field`` set."""

    def __init__(self, value: Any, *, what: str, error: type[ProtocolError] = GattError) -> None:
        if not isinstance(value, dict):
            raise error(f"{what} must be a CBOR map", field=what)
        self.map: dict[Any, Any] = value
        self.what = what
        self.error = error
        self._seen: set[Any] = set()

    def fail(self, message: str, name: str, code: str | None = None) -> ProtocolError:
        return self.error(f"{self.what}: {message}", field=name, code=code)

    def present(self, key: int) -> bool:
        return key in self.map

    def raw(self, key: int, name: str) -> Any:
        self._seen.add(key)
        if key not in self.map:
            raise self.fail("missing", name)
        return self.map[key]

    def uint(self, key: int, name: str, *, maximum: int = UINT64_MAX) -> int:
        value = self.raw(key, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
            raise self.fail(f"must be an unsigned integer ≤ {maximum}", name)
        return value

    def optional_uint(self, key: int, name: str, *, maximum: int = UINT64_MAX) -> int | None:
        return self.uint(key, name, maximum=maximum) if key in self.map else None

    def bstr(self, key: int, name: str, *, size: int | None = None, min_size: int = 0,
             max_size: int = UINT64_MAX) -> bytes:
        value = self.raw(key, name)
        if not isinstance(value, bytes):
            raise self.fail("must be a byte string", name)
        if size is not None and len(value) != size:
            raise self.fail(f"must be {size} bytes, got {len(value)}", name)
        if not min_size <= len(value) <= max_size:
            raise self.fail(f"must be {min_size}..{max_size} bytes, got {len(value)}", name)
        return value

    def optional_bstr(self, key: int, name: str, *, size: int | None = None, min_size: int = 0,
                      max_size: int = UINT64_MAX) -> bytes | None:
        return self.bstr(key, name, size=size, min_size=min_size, max_size=max_size) if key in self.map else None

    def boolean(self, key: int, name: str) -> bool:
        value = self.raw(key, name)
        if not isinstance(value, bool):
            raise self.fail("must be true or false", name)
        return value

    def text(self, key: int, name: str, *, max_len: int) -> str:
        value = self.raw(key, name)
        if not isinstance(value, str) or len(value.encode()) > max_len:
            raise self.fail(f"must be text of at most {max_len} bytes", name)
        return value

    def array(self, key: int, name: str, *, max_items: int) -> list[Any]:
        value = self.raw(key, name)
        if not isinstance(value, list) or len(value) > max_items:
            raise self.fail(f"must be an array of at most {max_items} items", name)
        return value

    def submap(self, key: int, name: str) -> FieldReader:
        return FieldReader(self.raw(key, name), what=f"{self.what}.{name}", error=self.error)

    def finish(self) -> None:
        """Refuse keys this map may not carry (no silent extensions: a newer version bumps PROTOCOL_VERSION)."""
        extra = [k for k in self.map if k not in self._seen]
        if extra:
            raise self.fail(f"unexpected keys {sorted(map(repr, extra))}", "keys")


def bstr_of(value: Any, name: str, *, size: int, what: str, error: type[ProtocolError] = GattError) -> bytes:
    """A loose byte string (an array item or map key) of exactly ``size`` bytes."""
    if not isinstance(value, bytes) or len(value) != size:
        raise error(f"{what}: {name} must be {size} bytes", field=name)
    return value


MAX_KID_LEN = 16
MAX_TRUSTED_KEYS = 16


def public_keys(f: FieldReader, key: int, name: str) -> dict[bytes, bytes]:
    """A ``{kid: raw Ed25519 public key}`` map of 1..16 trusted keys."""
    value = f.raw(key, name)
    if not isinstance(value, dict) or not 1 <= len(value) <= MAX_TRUSTED_KEYS:
        raise f.fail(f"must map 1..{MAX_TRUSTED_KEYS} kids to keys", name)
    for kid, raw in value.items():
        if not isinstance(kid, bytes) or not 1 <= len(kid) <= MAX_KID_LEN:
            raise f.fail(f"a kid must be 1..{MAX_KID_LEN} bytes", name)
        if not isinstance(raw, bytes) or len(raw) != 32:
            raise f.fail("a public key must be 32 raw bytes", name)
    return dict(value)
