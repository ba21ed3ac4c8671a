"""The padlock's advertising data: lock id, state flags, event counter and battery in 24 of 31 bytes.

A gateway scanning passively learns from ``event_seq`` that the lock logged something new and connects
only then (or on its schedule). The 128-bit service UUID does not fit beside the manufacturer data, so it
goes in the scan response. Multi-byte fields are little-endian, as everywhere in Bluetooth.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntFlag

from protocols.errors import GattError
from protocols.padlock.gatt import ADVERT_MAGIC, COMPANY_ID, LOCK_ID_LEN, PROTOCOL_VERSION, SERVICE_UUID

AD_FLAGS = 0x01
AD_COMPLETE_128_BIT_UUIDS = 0x07
AD_MANUFACTURER_SPECIFIC = 0xFF
LE_GENERAL_DISCOVERABLE_NO_BREDR = 0x06
LEGACY_ADV_MAX = 31
BATTERY_UNKNOWN = 0xFF

# After the company id: magic "SG", version, lock id, state flags, event seq (uint32 LE), battery %.
_BODY = struct.Struct(f"<2sB{LOCK_ID_LEN}sBIB")
MANUFACTURER_DATA_LEN = _BODY.size  # 17, without the 2-byte company id


class LockState(IntFlag):
    """State flags byte; bits 5–7 are reserved, sent as 0 and ignored on receipt."""

    OPEN = 0x01  # shackle open (clear: locked)
    PROVISIONING = 0x02  # in provisioning mode: accepts a provision message
    LOW_BATTERY = 0x04
    TAMPER = 0x08  # tamper latched until the gateway has pulled the event
    SESSION = 0x10  # opened with a permit and not closed since (pushes wait until it closes)


KNOWN_STATE = LockState.OPEN | LockState.PROVISIONING | LockState.LOW_BATTERY | LockState.TAMPER | LockState.SESSION


@dataclass(frozen=True, slots=True)
class LockAdvert:
    lock_id: bytes
    state: LockState
    event_seq: int  # seq of the newest event in the lock's log (0: none yet); wraps at 2**32
    battery: int | None  # percent 0..100, None when unknown
    version: int = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.lock_id, bytes) or len(self.lock_id) != LOCK_ID_LEN:
            raise GattError(f"lock id must be {LOCK_ID_LEN} bytes", field="lock_id")
        if not isinstance(self.state, int) or int(self.state) & ~int(KNOWN_STATE):
            raise GattError("state has reserved bits set", field="state")
        if not 0 <= self.event_seq < 2**32:
            raise GattError("event_seq must fit in 32 bits", field="event_seq")
        if self.battery is not None and not 0 <= self.battery <= 100:
            raise GattError("battery must be 0..100 %", field="battery")
        if not 0 <= self.version <= 0xFF:
            raise GattError("version must fit in a byte", field="version")

    def manufacturer_data(self) -> bytes:
        """The manufacturer-specific data after the company id (what bleak reports per company id)."""
        battery = BATTERY_UNKNOWN if self.battery is None else self.battery
        return _BODY.pack(ADVERT_MAGIC, self.version, self.lock_id, int(self.state & KNOWN_STATE),
                          self.event_seq, battery)

    def encode(self) -> bytes:
        """The whole legacy advertising payload: Flags AD, then the manufacturer-specific AD."""
        body = COMPANY_ID.to_bytes(2, "little") + self.manufacturer_data()
        return (bytes([2, AD_FLAGS, LE_GENERAL_DISCOVERABLE_NO_BREDR])
                + bytes([1 + len(body), AD_MANUFACTURER_SPECIFIC]) + body)


def scan_response() -> bytes:
    """The scan response: the complete list of 128-bit service UUIDs (ours), little-endian."""
    return bytes([17, AD_COMPLETE_128_BIT_UUIDS]) + SERVICE_UUID.bytes[::-1]


def decode_manufacturer_data(data: bytes) -> LockAdvert:
    """Decode the bytes after the company id; GattError when they are not a SafeGrid lock advert we speak."""
    if not isinstance(data, bytes | bytearray) or len(data) != MANUFACTURER_DATA_LEN:
        raise GattError(f"lock manufacturer data is {MANUFACTURER_DATA_LEN} bytes", field="advertising")
    magic, version, lock_id, state, event_seq, battery = _BODY.unpack(bytes(data))
    if magic != ADVERT_MAGIC:
        raise GattError("not SafeGrid manufacturer data", field="advertising")
    if version != PROTOCOL_VERSION:
        raise GattError(f"unsupported padlock protocol version {version}", code="unsupported_version",
                        field="version")
    if battery != BATTERY_UNKNOWN and battery > 100:
        raise GattError(f"battery {battery} % out of range", field="battery")
    return LockAdvert(lock_id=lock_id, state=LockState(state) & KNOWN_STATE, event_seq=event_seq,
                      battery=None if battery == BATTERY_UNKNOWN else battery, version=version)


def ad_structures(payload: bytes) -> list[tuple[int, bytes]]:
    """Split an advertising or scan-response payload into (AD type, data); a 0 length ends it."""
    if not isinstance(payload, bytes | bytearray) or len(payload) > LEGACY_ADV_MAX:
        raise GattError(f"a legacy advertising payload is at most {LEGACY_ADV_MAX} bytes", field="advertising")
    out, pos = [], 0
    while pos < len(payload):
        length = payload[pos]
        if length == 0:
            if any(payload[pos:]):
                raise GattError("non-zero bytes after the AD terminator", field="advertising")
            break
        if pos + 1 + length > len(payload):
            raise GattError("AD structure runs past the payload", field="advertising")
        out.append((payload[pos + 1], bytes(payload[pos + 2:pos + 1 + length])))
        pos += 1 + length
    return out


def decode_advertising(payload: bytes) -> LockAdvert:
    """Find and decode the lock's manufacturer-specific AD in a whole advertising payload."""
    for ad_type, data in ad_structures(payload):
        if (ad_type == AD_MANUFACTURER_SPECIFIC and len(data) >= 4
                and int.from_bytes(data[:2], "little") == COMPANY_ID and data[2:4] == ADVERT_MAGIC):
            return decode_manufacturer_data(data[2:])
    raise GattError("no SafeGrid lock data in the advertising payload", field="advertising")
