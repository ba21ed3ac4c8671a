"""The padlock's CBOR messages: requests written by a central, responses and events notified by the lock.

Every message is one CBOR map with integer keys; key 0 is the message type. Each message is a frozen
dataclass with ``encode() -> bytes`` and ``decode(data)``; ``decode_message`` decodes any of them.
Malformed input raises ``GattError`` and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, ClassVar, Self

from protocols import cbor
from protocols.errors import GattError
from protocols.fields import FieldReader, load_map, public_keys
from protocols.padlock.advertising import KNOWN_STATE, LockState
from protocols.padlock.audit import MAX_ENTRY_BYTES, AuditEntry, decode_entry
from protocols.padlock.gatt import LOCK_ID_LEN, MAX_MESSAGE_BYTES, NONCE_LEN, PROTOCOL_VERSION
from protocols.padlock.results import result_name, result_number

MAX_TOKEN_BYTES = 2048
MAX_SIGNED_PUSH_BYTES = MAX_MESSAGE_BYTES  # bounded in practice by the 4 KiB message around it
MAX_AUDIT_BATCH = 32
MAX_FIRMWARE_LEN = 32
POP_SIGNATURE_LEN = 64


class MessageType(IntEnum):
    # central → lock (write characteristic)
    INFO_REQUEST = 0x01
    CHALLENGE_REQUEST = 0x02
    UNLOCK_REQUEST = 0x03
    AUDIT_FETCH = 0x04
    TRUST_LIST_PUSH = 0x10
    TIME_SET_PUSH = 0x11
    REVOCATION_PUSH = 0x12
    GAS_ATTESTATION_PUSH = 0x13
    PROVISION = 0x14
    # lock → central (notify characteristic)
    INFO = 0x81
    CHALLENGE = 0x82
    RESULT = 0x83
    EVENT = 0x84
    AUDIT_ENTRIES = 0x85


class Purpose(IntEnum):
    """What a challenge may be answered with."""

    UNLOCK = 1
    TIME_SET = 2


class Message:
    """Base of every padlock message."""

    __slots__ = ()
    TYPE: ClassVar[MessageType]

    def fields(self) -> dict[int, Any]:
        return {}

    @classmethod
    def from_fields(cls, f: FieldReader) -> Self:
        return cls()

    def encode(self) -> bytes:
        data = cbor.dumps({0: int(self.TYPE), **self.fields()})
        if len(data) > MAX_MESSAGE_BYTES:
            raise GattError(f"{len(data)}-byte message exceeds {MAX_MESSAGE_BYTES}", code="oversize", field="message")
        return data

    @classmethod
    def decode(cls, data: bytes) -> Self:
        message = decode_message(data)
        if not isinstance(message, cls):
            raise GattError(f"expected {cls.__name__}, got {type(message).__name__}", code="unexpected_message",
                            field="type")
        return message


_REGISTRY: dict[int, type[Message]] = {}


def _register(cls: type[Message]) -> type[Message]:
    _REGISTRY[int(cls.TYPE)] = cls
    return cls


def decode_message(data: bytes) -> Message:
    """Decode any padlock message (at most 4 KiB); GattError when malformed or of an unknown type."""
    f = load_map(data, what="message", max_bytes=MAX_MESSAGE_BYTES)
    type_number = f.uint(0, "type", maximum=0xFF)
    cls = _REGISTRY.get(type_number)
    if cls is None:
        raise GattError(f"unknown message type 0x{type_number:02x}", code="unsupported", field="type")
    f.what = cls.__name__
    message = cls.from_fields(f)
    f.finish()
    return message


def _purpose(f: FieldReader, key: int) -> Purpose:
    number = f.uint(key, "purpose", maximum=0xFF)
    try:
        return Purpose(number)
    except ValueError:
        raise f.fail(f"unknown purpose {number}", "purpose") from None


@_register
@dataclass(frozen=True, slots=True)
class InfoRequest(Message):
    TYPE: ClassVar[MessageType] = MessageType.INFO_REQUEST


@_register
@dataclass(frozen=True, slots=True)
class InfoResponse(Message):
    TYPE: ClassVar[MessageType] = MessageType.INFO
    lock_id: bytes
    state: LockState
    event_seq: int
    battery: int | None
    lock_time: int
    trust_version: int
    revocation_version: int
    lock_key: bytes  # the lock's raw Ed25519 public key: verifies its audit entries
    firmware: str
    version: int = PROTOCOL_VERSION
    max_message: int = MAX_MESSAGE_BYTES

    def fields(self) -> dict[int, Any]:
        out = {1: self.version, 2: self.lock_id, 3: int(self.state), 4: self.event_seq, 6: self.lock_time,
               7: self.trust_version, 8: self.revocation_version, 9: self.lock_key, 10: self.firmware,
               11: self.max_message}
        if self.battery is not None:
            out[5] = self.battery
        return out

    @classmethod
    def from_fields(cls, f: FieldReader) -> Self:
        state = f.uint(3, "state", maximum=0xFF)
        return cls(version=f.uint(1, "version", maximum=0xFF), lock_id=f.bstr(2, "lock_id", size=LOCK_ID_LEN),
                   state=LockState(state) & KNOWN_STATE, event_seq=f.uint(4, "event_seq", maximum=2**32 - 1),
                   battery=f.optional_uint(5, "battery", maximum=100), lock_time=f.uint(6, "lock_time"),
                   trust_version=f.uint(7, "trust_version"), revocation_version=f.uint(8, "revocation_version"),
                   lock_key=f.bstr(9, "lock_key", size=32), firmware=f.text(10, "firmware", max_len=MAX_FIRMWARE_LEN),
                   max_message=f.uint(11, "max_message", maximum=0xFFFF))


@_register
@dataclass(frozen=True, slots=True)
class ChallengeRequest(Message):
    TYPE: ClassVar[MessageType] = MessageType.CHALLENGE_REQUEST
    purpose: Purpose = Purpose.UNLOCK

    def fields(self) -> dict[int, Any]:
        return {1: int(self.purpose)}

    @classmethod
    def from_fields(cls, f: FieldReader) -> Self:
        return cls(purpose=_purpose(f, 1))


@_register
@dataclass(frozen=True, slots=True)
class Challenge(Message):
    """A single-use challenge. Its exact encoding is what the proof of possession signs."""

    TYPE: ClassVar[MessageType] = MessageType.CHALLENGE
    nonce: bytes  # 16 random bytes
    lock_id: bytes
    counter: int  # the lock's challenge counter: strictly increasing, persisted
    lock_time: int  # the lock's trusted time when it issued the challenge
    purpose: Purpose = Purpose.UNLOCK

    def fields(self) -> dict[int, Any]:
        return {1: self.nonce, 2: self.lock_id, 3: self.counter, 4: self.lock_time, 5: int(self.purpose)}

    @classmethod
    def from_fields(cls, f: FieldReader) -> Self:
        return cls(nonce=f.bstr(1, "nonce", size=NONCE_LEN), lock_id=f.bstr(2, "lock_id", size=LOCK_ID_LEN),
                   counter=f.uint(3, "counter"), lock_time=f.uint(4, "lock_time"), purpose=_purpose(f, 5))


@_register
@dataclass(frozen=True, slots=True)
class UnlockRequest(Message):
    TYPE: ClassVar[MessageType] = MessageType.UNLOCK_REQUEST
    nonce: bytes  # names the challenge being answered
    token: bytes  # the permit token (COSE_Sign1)
    pop_signature: bytes  # the holder key's signature of protocols.token.pop_message(challenge, lock id, token hash)

    def fields(self) -> dict[int, Any]:
        return {1: self.nonce, 2: self.token, 3: self.pop_signature}

    @classmethod
    def from_fields(cls, f: FieldReader) -> Self:
        return cls(nonce=f.bstr(1, "nonce", size=NONCE_LEN),
                   token=f.bstr(2, "token", min_size=1, max_size=MAX_TOKEN_BYTES),
                   pop_signature=f.bstr(3, "pop_signature", size=POP_SIGNATURE_LEN))


@_register
@dataclass(frozen=True, slots=True)
class Result(Message):
    """The lock's answer to any request except info, challenge and audit fetch (which have their own)."""

    TYPE: ClassVar[MessageType] = MessageType.RESULT
    code: str  # a name from protocols.padlock.results.RESULT_CODES
    request: int  # the message type answered (0 when the request did not decode)
    retry_after: int | None = None  # seconds, with backoff and busy

    def __post_init__(self) -> None:
        result_number(self.code)

    @property
    def ok(self) -> bool:
        return self.code == "ok"

    def fields(self) -> dict[int, Any]:
        out = {1: result_number(self.code), 2: self.request}
        if self.retry_after is not None:
            out[3] = self.retry_after
        return out

    @classmethod
    def from_fields(cls, f: FieldReader) -> Self:
        return cls(code=result_name(f.uint(1, "code", maximum=0xFF)), request=f.uint(2, "request", maximum=0xFF),
                   retry_after=f.optional_uint(3, "retry_after", maximum=2**32 - 1))


@_register
@dataclass(frozen=True, slots=True)
class EventNotice(Message):
    """A new lock event, notified to the connected central as its signed audit entry."""

    TYPE: ClassVar[MessageType] = MessageType.EVENT
    entry: bytes

    def fields(self) -> dict[int, Any]:
        return {1: self.entry}

    @classmethod
    def from_fields(cls, f: FieldReader) -> Self:
        return cls(entry=f.bstr(1, "entry", min_size=1, max_size=MAX_ENTRY_BYTES))

    def decoded(self) -> AuditEntry:
        """The entry parsed (signature unchecked; ``audit.verify_chain`` checks it)."""
        return decode_entry(self.entry)


@_register
@dataclass(frozen=True, slots=True)
class AuditFetch(Message):
    """Ask for audit entries with seq > ``since_seq``, at most ``limit`` of them."""

    TYPE: ClassVar[MessageType] = MessageType.AUDIT_FETCH
    since_seq: int
    limit: int = MAX_AUDIT_BATCH

    def fields(self) -> dict[int, Any]:
        return {1: self.since_seq, 2: self.limit}

    @classmethod
    def from_fields(cls, f: FieldReader) -> Self:
        limit = f.uint(2, "limit", maximum=MAX_AUDIT_BATCH)
        if limit == 0:
            raise f.fail("limit must be 1..32", "limit")
        return cls(since_seq=f.uint(1, "since_seq", maximum=2**32 - 1), limit=limit)


@_register
@dataclass(frozen=True, slots=True)
class AuditEntries(Message):
    """Consecutive entries in seq order; ``more`` when the lock holds later ones (fetch again)."""

    TYPE: ClassVar[MessageType] = MessageType.AUDIT_ENTRIES
    entries: tuple[bytes, ...]
    more: bool

    def fields(self) -> dict[int, Any]:
        return {1: list(self.entries), 2: self.more}

    @classmethod
    def from_fields(cls, f: FieldReader) -> Self:
        entries = f.array(1, "entries", max_items=MAX_AUDIT_BATCH)
        if not all(isinstance(e, bytes) and 0 < len(e) <= MAX_ENTRY_BYTES for e in entries):
            raise f.fail("entries must be byte strings of audit entries", "entries")
        return cls(entries=tuple(entries), more=f.boolean(2, "more"))


class _SignedPush(Message):
    """A push carrying one signed structure (see protocols.padlock.pushes) as a byte string."""

    __slots__ = ()
    signed: bytes

    def fields(self) -> dict[int, Any]:
        return {1: self.signed}

    @classmethod
    def from_fields(cls, f: FieldReader) -> Self:
        # every subclass is a dataclass taking ``signed``; this slotted base itself has no such __init__
        return cls(signed=f.bstr(1, "signed", min_size=1, max_size=MAX_SIGNED_PUSH_BYTES))  # type: ignore[call-arg]


@_register
@dataclass(frozen=True, slots=True)
class TrustListPush(_SignedPush):
    TYPE: ClassVar[MessageType] = MessageType.TRUST_LIST_PUSH
    signed: bytes


@_register
@dataclass(frozen=True, slots=True)
class TimeSetPush(_SignedPush):
    TYPE: ClassVar[MessageType] = MessageType.TIME_SET_PUSH
    signed: bytes


@_register
@dataclass(frozen=True, slots=True)
class RevocationPush(_SignedPush):
    """Carries the bytes of ``protocols.revocation.sign_revocation_list`` unchanged."""

    TYPE: ClassVar[MessageType] = MessageType.REVOCATION_PUSH
    signed: bytes


@_register
@dataclass(frozen=True, slots=True)
class GasAttestationPush(_SignedPush):
    TYPE: ClassVar[MessageType] = MessageType.GAS_ATTESTATION_PUSH
    signed: bytes


class PushKind(StrEnum):
    """The signed pushes a gateway delivers to a padlock: one vocabulary for the gateway's queues and commands,
    its BLE link and the simulators (a ``str`` enum: the values are the names used in downlink commands and in
    stored holds, e.g. ``"revocation_list"``)."""

    TRUST_LIST = "trust_list"
    REVOCATION_LIST = "revocation_list"
    GAS_ATTESTATION = "gas_attestation"
    TIME_SET = "time_set"  # signed on the link: it answers a fresh TIME_SET challenge

    @property
    def message(self) -> type[TrustListPush | RevocationPush | GasAttestationPush | TimeSetPush]:
        """The message carrying this kind's signed structure."""
        return PUSH_MESSAGES[self]


PUSH_MESSAGES: dict[PushKind, type[TrustListPush | RevocationPush | GasAttestationPush | TimeSetPush]] = {
    PushKind.TRUST_LIST: TrustListPush,
    PushKind.REVOCATION_LIST: RevocationPush,
    PushKind.GAS_ATTESTATION: GasAttestationPush,
    PushKind.TIME_SET: TimeSetPush,
}


@_register
@dataclass(frozen=True, slots=True)
class Provision(Message):
    """Technician's provisioning; a lock accepts it only in provisioning mode (physical button or factory state)."""

    TYPE: ClassVar[MessageType] = MessageType.PROVISION
    lock_id: bytes
    issuer_keys: Mapping[bytes, bytes] = field(hash=False)  # kid → raw Ed25519 public key
    gateway_key: bytes  # raw Ed25519 public key of the gateway that serves this lock
    time: int | None = None  # Unix seconds, sets the lock's clock and its trusted-time floor

    def __post_init__(self) -> None:
        if len(self.gateway_key) != 32:
            raise GattError("gateway key must be 32 raw bytes", field="gateway_key")

    def fields(self) -> dict[int, Any]:
        out: dict[int, Any] = {1: self.lock_id, 2: dict(self.issuer_keys), 3: self.gateway_key}
        if self.time is not None:
            out[4] = self.time
        return out

    @classmethod
    def from_fields(cls, f: FieldReader) -> Self:
        return cls(lock_id=f.bstr(1, "lock_id", size=LOCK_ID_LEN), issuer_keys=public_keys(f, 2, "issuer_keys"),
                   gateway_key=f.bstr(3, "gateway_key", size=32), time=f.optional_uint(4, "time"))


REQUEST_TYPES = frozenset(t for t in MessageType if t < 0x80)
