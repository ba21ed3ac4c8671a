"""The uplink envelope (a batch of records), the ack the cloud answers with, the online status, and their bytes.

Bytes on the wire are UTF-8 JSON, optionally gzip-compressed: a payload that starts with the gzip magic
``1f 8b`` is decompressed first, with a hard cap on the decompressed size (a decompression bomb is an
EnvelopeError, code ``too_large``), anything else is parsed as JSON. The same bytes travel over MQTT and
as an HTTP body.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, model_validator

from protocols.errors import EnvelopeError
from protocols.uplink.fields import (
    GATEWAY_ID_RE,
    MAX_TIME_MS,
    Epoch,
    GatewayId,
    Message,
    Seq,
    Text,
    TimeMs,
    TimeRequest,
    parse_json,
    parse_python,
)
from protocols.uplink.records import RECORD_KINDS, Record

#: Most records in one batch.
MAX_RECORDS = 2000
#: Most bytes of JSON one message may take once decompressed (and on the wire).
MAX_ENVELOPE_BYTES = 4 * 1024 * 1024
#: Most bytes an ack, a status or a signed command may take.
MAX_SMALL_MESSAGE_BYTES = 64 * 1024
#: Most gaps one ack reports (the lowest ones; the rest follow once these are filled).
MAX_GAPS = 64

GZIP_MAGIC = b"\x1f\x8b"
CONTENT_TYPE = "application/json"


class Envelope(Message):
    """A batch of records from one gateway and epoch, seqs strictly increasing and ranges not overlapping.

    A batch with no records is allowed: it asks the cloud for its current ack (e.g. after a restart).
    """

    v: Literal[1]
    gateway: GatewayId
    epoch: Epoch
    sent_at_ms: TimeMs
    records: Annotated[list[Record], Field(max_length=MAX_RECORDS)]

    @model_validator(mode="after")
    def _increasing(self) -> Envelope:
        last = 0
        for i, record in enumerate(self.records):
            if record.seq <= last:
                raise ValueError(f"records[{i}].seq {record.seq} does not follow seq {last}")
            last = record.last_seq
        return self

    @property
    def first_seq(self) -> int | None:
        return self.records[0].seq if self.records else None

    @property
    def last_seq(self) -> int | None:
        """The highest seq the batch stands for (a trailing summary's ``seq_to``)."""
        return self.records[-1].last_seq if self.records else None


class Gap(Message):
    """Seqs ``first..last`` (inclusive) the cloud has not stored although it holds a higher one."""

    first: Seq
    last: Seq

    @model_validator(mode="after")
    def _ordered(self) -> Gap:
        if self.last < self.first:
            raise ValueError("last must not be below first")
        return self


class Ack(Message):
    """What the cloud has committed for (gateway, epoch): every seq up to ``watermark``; ``gaps`` above it.

    The gateway deletes records up to ``watermark`` and nothing else. ``watermark`` 0 means none yet.
    """

    v: Literal[1]
    gateway: GatewayId
    epoch: Epoch
    watermark: Annotated[int, Field(ge=0, le=2**63 - 1)]
    gaps: Annotated[list[Gap], Field(default_factory=list, max_length=MAX_GAPS)]

    @model_validator(mode="after")
    def _gaps_above(self) -> Ack:
        # The first missing seq is watermark + 1 by definition; later gaps are separated by stored seqs.
        if self.gaps and self.gaps[0].first != self.watermark + 1:
            raise ValueError("the first gap must start at watermark + 1")
        floor = self.watermark
        for i, gap in enumerate(self.gaps):
            if gap.first <= floor:
                raise ValueError(f"gaps[{i}] must start above {floor} (the previous gap's end + 1)")
            floor = gap.last + 1  # adjacent gaps would be one gap
        return self


class Status(Message):
    """A gateway's online status: retained on its status topic; the last will says ``online: false``.

    ``clock_trusted`` (optional, absent in older gateways' statuses) says whether the gateway trusts its wall
    clock; the gateway publishes a new status when that changes, and an online status with ``clock_trusted: false``
    asks the cloud for a signed ``time`` command at once (uplink spec §6). ``time_request`` (optional) is the
    gateway's latest time request, which the cloud echoes in the next ``time`` command (uplink spec §5.5)."""

    v: Literal[1]
    gateway: GatewayId
    online: bool
    at_ms: TimeMs | None = None
    epoch: Epoch | None = None
    software: Text | None = None
    clock_trusted: bool | None = None
    time_request: TimeRequest | None = None


ENVELOPE_ADAPTER: TypeAdapter[Envelope] = TypeAdapter(Envelope)
ACK_ADAPTER: TypeAdapter[Ack] = TypeAdapter(Ack)
STATUS_ADAPTER: TypeAdapter[Status] = TypeAdapter(Status)


# -- bytes -----------------------------------------------------------------------------------------------


def to_json(message: BaseModel) -> bytes:
    """Compact JSON; fields equal to their default are left out (absent means the default)."""
    return message.model_dump_json(exclude_defaults=True).encode()


def gzip_compress(data: bytes) -> bytes:
    """gzip with a zero timestamp, so equal input gives equal bytes (and reproducible test vectors)."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def unwrap(data: bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES) -> bytes:
    """The JSON bytes of a payload: decompressed when it starts with the gzip magic, never over ``max_bytes``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise EnvelopeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise EnvelopeError(f"{len(data)} bytes exceeds the {max_bytes}-byte limit", code="too_large")
    if not data.startswith(GZIP_MAGIC):
        return data
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing only
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise EnvelopeError(f"bad gzip data: {exc}", field="gzip") from None
    if len(out) > max_bytes:
        raise EnvelopeError(f"decompresses to more than {max_bytes} bytes", code="too_large", field="gzip")
    if not inflater.eof:
        raise EnvelopeError("truncated gzip data", field="gzip")
    if inflater.unused_data:
        raise EnvelopeError("bytes after the gzip member", field="gzip")
    return out


def encode_envelope(envelope: Envelope, *, compress: bool = False) -> bytes:
    data = to_json(envelope)
    return gzip_compress(data) if compress else data


def encode_stored(gateway: str, epoch: int, sent_at_ms: int, rows: Sequence[tuple[int, int, str, int, str]], *,
                  compress: bool = False) -> bytes:
    """The edge's fast path: a batch straight from stored rows ``(seq, seq_to, kind, at_ms, body JSON text)``.

    The bodies are spliced in unparsed, so they must have been checked with ``make_record`` when they were
    stored; the header, the kinds, the seq order and the record count are checked here.
    """
    if not isinstance(gateway, str) or not GATEWAY_ID_RE.fullmatch(gateway):
        raise EnvelopeError("invalid gateway id", field="gateway")
    if not (isinstance(epoch, int) and 1 <= epoch <= 2**31 - 1 and isinstance(sent_at_ms, int)
            and 0 <= sent_at_ms <= MAX_TIME_MS):
        raise EnvelopeError("epoch or sent_at_ms out of range", field="epoch")
    if len(rows) > MAX_RECORDS:
        raise EnvelopeError(f"more than {MAX_RECORDS} records", field="records")
    parts = []
    last = 0
    for seq, seq_to, kind, at_ms, body in rows:
        if kind not in RECORD_KINDS or seq <= last or seq_to < seq or (seq_to != seq and kind != "summary"):
            raise EnvelopeError(f"stored record {seq}..{seq_to} ({kind}) cannot follow seq {last}", field="records")
        range_part = f',"seq_to":{seq_to}' if kind == "summary" else ""
        parts.append(f'{{"seq":{seq},"kind":"{kind}","at_ms":{at_ms}{range_part},"body":{body}}}')
        last = seq_to
    data = (f'{{"v":1,"gateway":"{gateway}","epoch":{epoch},"sent_at_ms":{sent_at_ms},"records":['
            + ",".join(parts) + "]}").encode()
    return gzip_compress(data) if compress else data


def decode_envelope(data: bytes, *, gateway: str | None = None, max_bytes: int = MAX_ENVELOPE_BYTES) -> Envelope:
    """Parse a batch (plain or gzip). With ``gateway`` (the authenticated sender, or the gateway of the
    topic it came on) a batch naming another gateway is refused with code ``wrong_gateway``."""
    envelope: Envelope = parse_json(ENVELOPE_ADAPTER, unwrap(data, max_bytes=max_bytes), what="envelope")
    if gateway is not None and envelope.gateway != gateway:
        raise EnvelopeError(f"batch of gateway {envelope.gateway!r} sent by {gateway!r}", code="wrong_gateway",
                            field="gateway")
    return envelope


def make_envelope(gateway: str, epoch: int, sent_at_ms: int, records: Sequence[Record | dict[str, Any]]) -> Envelope:
    """A validated envelope (records as models or plain dicts); malformed → EnvelopeError."""
    return parse_python(ENVELOPE_ADAPTER, {"v": 1, "gateway": gateway, "epoch": epoch, "sent_at_ms": sent_at_ms,
                                           "records": list(records)}, what="envelope")


def encode_ack(ack: Ack) -> bytes:
    return to_json(ack)


def decode_ack(data: bytes) -> Ack:
    return parse_json(ACK_ADAPTER, unwrap(data, max_bytes=MAX_SMALL_MESSAGE_BYTES), what="ack")


def make_ack(gateway: str, epoch: int, watermark: int, gaps: Sequence[tuple[int, int]] = ()) -> Ack:
    return parse_python(ACK_ADAPTER, {"v": 1, "gateway": gateway, "epoch": epoch, "watermark": watermark,
                                      "gaps": [{"first": a, "last": b} for a, b in gaps]}, what="ack")


def encode_status(status: Status) -> bytes:
    return to_json(status)


def decode_status(data: bytes) -> Status:
    return parse_json(STATUS_ADAPTER, unwrap(data, max_bytes=MAX_SMALL_MESSAGE_BYTES), what="status")


def make_status(gateway: str, *, online: bool, at_ms: int | None = None, epoch: int | None = None,
                software: str | None = None, clock_trusted: bool | None = None,
                time_request: str | None = None) -> Status:
    return parse_python(STATUS_ADAPTER, {"v": 1, "gateway": gateway, "online": online, "at_ms": at_ms,
                                         "epoch": epoch, "software": software, "clock_trusted": clock_trusted,
                                         "time_request": time_request}, what="status")
