"""Detector identification (vendor, model, serial, firmware): from ASCII registers or Modbus 43/14 objects.

Function 43 with MEI type 14 (Read Device Identification) returns objects by id: 0x00 VendorName, 0x01
ProductCode, 0x02 MajorMinorRevision, 0x03–0x06 the regular objects, 0x80–0xFF private (where vendors put the
serial number). A profile names which object id carries which field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protocols.errors import ProfileError
from protocols.gasprofile.model import IDENTITY_FIELDS, Profile
from protocols.gasprofile.readings import DeviceIdentity
from protocols.gasprofile.registers import Image, Registers, decode_text, encode_text

MAX_OBJECT_BYTES = 244  # one object in one 43/14 response: a 253-byte PDU less 9 bytes of header


def identity_from_registers(profile: Profile, regs: Registers) -> DeviceIdentity | None:
    """The identity when every identification register was read; ``None`` if not read or not in the profile."""
    refs = {f: getattr(profile.identification.registers, f) for f in IDENTITY_FIELDS}
    refs = {f: r for f, r in refs.items() if r is not None}
    fn = profile.modbus.function
    if not refs or not all(regs.has(r.function or fn, r.address, r.length) for r in refs.values()):
        return None
    values = {}
    for field, ref in refs.items():
        key = f"identification.registers.{field}"
        values[field] = decode_text(regs.words(ref.function or fn, ref.address, ref.length, key), key)
    return DeviceIdentity(**values)


def identity_to_registers(profile: Profile, identity: DeviceIdentity, image: Image) -> None:
    for field in IDENTITY_FIELDS:
        ref = getattr(profile.identification.registers, field)
        value = getattr(identity, field)
        key = f"identification.registers.{field}"
        if ref is None:
            if value is not None:
                raise ProfileError("the profile has no register for it", code="not_encodable", field=key)
            continue
        words = encode_text(value, ref.length, key)
        table = image.setdefault(ref.function or profile.modbus.function, {})
        table.update(zip(range(ref.address, ref.address + ref.length), words, strict=True))


def decode_identification(profile: Profile, objects: Mapping[int, Any]) -> DeviceIdentity:
    """Decode a Read Device Identification (43/14) answer, object id → bytes; unmapped ids are ignored."""
    if not isinstance(objects, Mapping):
        raise ProfileError("objects must map object id to bytes", code="bad_registers")
    values: dict[str, str | None] = {}
    for field in IDENTITY_FIELDS:
        oid = getattr(profile.identification.objects, field)
        raw = objects.get(oid) if oid is not None else None
        key = f"identification.objects.{field}"
        if raw is None:
            values[field] = None
            continue
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        if not isinstance(raw, bytes | bytearray) or len(raw) > MAX_OBJECT_BYTES:
            raise ProfileError(f"object {oid:#04x} must be at most {MAX_OBJECT_BYTES} bytes", code="bad_registers",
                               field=key)
        text = bytes(raw).rstrip(b"\x00 ")
        if any(not 0x20 <= c <= 0x7E for c in text):
            raise ProfileError(f"object {oid:#04x} is not printable ASCII", code="bad_registers", field=key)
        values[field] = text.decode("ascii") or None
    return DeviceIdentity(**values)


def encode_identification(profile: Profile, identity: DeviceIdentity) -> dict[int, bytes]:
    """The 43/14 objects a device with ``identity`` answers (fields the profile maps and the identity has)."""
    out: dict[int, bytes] = {}
    for field in IDENTITY_FIELDS:
        oid = getattr(profile.identification.objects, field)
        value = getattr(identity, field)
        if oid is None or value is None:
            continue
        words = encode_text(value, (MAX_OBJECT_BYTES + 1) // 2, f"identification.objects.{field}")
        out[oid] = b"".join(w.to_bytes(2, "big") for w in words).rstrip(b"\x00")
    return out
