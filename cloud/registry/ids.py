"""The 16-byte ids the wire protocols carry for registry objects (permit tokens, gas attestations, commands).

An enterprise's or confined space's id is its registry id behind a 4-byte type tag and 4 zero bytes: stable,
computable by a gateway's provisioning from the registry id, and readable back (``space_id_from_uid``).
Permits and workers get random 16-byte uids of their own instead (stored with them).
"""

from __future__ import annotations

ENTERPRISE_TAG = b"SGEN"
SPACE_TAG = b"SGCS"
_PAD = bytes(4)


def _uid(tag: bytes, registry_id: int) -> bytes:
    if not 0 < registry_id < 2**63:
        raise ValueError(f"registry id out of range: {registry_id}")
    return tag + _PAD + registry_id.to_bytes(8, "big")


def enterprise_uid(enterprise_id: int) -> bytes:
    return _uid(ENTERPRISE_TAG, enterprise_id)


def space_uid(space_id: int) -> bytes:
    return _uid(SPACE_TAG, space_id)


def space_id_from_uid(uid_hex: str) -> int | None:
    """The registry id of a space uid in hex, or None when it is not one."""
    try:
        raw = bytes.fromhex(uid_hex)
    except ValueError:
        return None
    if len(raw) != 16 or raw[:8] != SPACE_TAG + _PAD:
        return None
    value = int.from_bytes(raw[8:], "big")
    return value if value > 0 else None
