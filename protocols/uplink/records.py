"""The records a gateway sends up: one model per kind, told apart by ``kind`` (a discriminated union).

Every record has ``seq`` (the gateway's sequence number within its epoch), ``kind``, ``at_ms`` (unix
milliseconds when it happened at the gateway) and a kind-specific ``body``. A ``summary`` record also has
``seq_to``: it stands for every seq in ``seq..seq_to``, telemetry the outbox folded when it reached its cap,
so the cloud's contiguous watermark keeps moving past data that no longer exists one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, model_validator

from protocols.uplink.fields import (
    Blob,
    Code,
    FreeForm,
    Id,
    Message,
    Seq,
    Text,
    TimeMs,
    parse_python,
)

#: Most gases one detector reports, and most series one summary carries.
MAX_GASES = 16
MAX_SERIES = 32

GasName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.+-]{1,16}$")]  # "O2", "LEL", "H2S", "CO", "CH4" …
Unit = Annotated[str, Field(pattern=r"^[A-Za-z0-9%/._-]{1,16}$")]  # "%VOL", "%LEL", "ppm", "mg/m3" …
Flags = Annotated[list[Code], Field(max_length=8)]


# -- bodies ----------------------------------------------------------------------------------------------


class GasReading(Message):
    """One gas channel of one poll. ``value`` is null when the detector gave none (fault, warm-up)."""

    gas: GasName
    value: float | None
    unit: Unit
    flags: Flags = Field(default_factory=list)  # e.g. alarm1, alarm2, fault, warmup, calibration_due, over_range


class TelemetryBody(Message):
    """One poll of one gas detector."""

    space_id: Id
    detector_id: Id
    gases: Annotated[list[GasReading], Field(min_length=1, max_length=MAX_GASES)]
    flags: Flags = Field(default_factory=list)  # detector-level status, e.g. comm_fault, sensor_fault, bump_due


class AlarmBody(Message):
    """A step in an alarm's life: raised, acknowledged, cleared, muted or its mute expired."""

    alarm_id: Id
    state: Literal["raised", "acknowledged", "cleared", "muted", "mute_expired"]
    cause: Code  # gas_level1, gas_level2, stel, twa, detector_fault, comm_loss, stale_data, overtime …
    level: Annotated[int, Field(ge=1, le=2)]
    space_id: Id | None = None
    detector_id: Id | None = None
    lock_id: Id | None = None
    session_id: Id | None = None
    permit_id: Id | None = None
    gas: GasName | None = None
    value: float | None = None
    unit: Unit | None = None
    by: Text | None = None  # who acknowledged or muted ("local_input", a cloud user id)
    detail: Text | None = None


class EventBody(Message):
    """Anything else worth keeping: lock events, entrant check-in/out, command results, log heads …"""

    type: Code
    space_id: Id | None = None
    lock_id: Id | None = None
    detector_id: Id | None = None
    session_id: Id | None = None
    permit_id: Id | None = None
    data: FreeForm = Field(default_factory=dict)


class SessionBody(Message):
    """A confined-space session changed state."""

    session_id: Id
    space_id: Id
    state: Code  # idle, authorized, ventilating, tested, in_work, overtime, closed, unauthorized_open
    previous: Code | None = None
    permit_id: Id | None = None
    entrants: Annotated[int, Field(ge=0, le=1000)] = 0
    deadline_ms: TimeMs | None = None
    reason: Text | None = None


class LockAuditBody(Message):
    """One padlock audit-log entry as read over GATT; ``entry`` keeps the lock-signed bytes for re-checking."""

    lock_id: Id
    lock_seq: Annotated[int, Field(ge=0, le=2**64 - 1)]
    event: Code
    lock_time_s: Annotated[int, Field(ge=0, le=2**32 - 1)]  # the padlock's own clock, unix seconds
    token_id: Id | None = None
    entry: Blob  # the signed, hash-chained entry exactly as the padlock sent it
    chain_ok: bool  # the gateway verified the entry's signature and its link to the previous one


class SeriesSummary(Message):
    """Aggregate of one (detector, gas) over the records a summary stands for."""

    space_id: Id
    detector_id: Id
    gas: GasName
    unit: Unit
    n: Annotated[int, Field(ge=1)]  # readings that had a value
    min: float
    max: float
    mean: float


class SummaryBody(Message):
    """What a folded seq range contained: how many records, their time span, per-gas min/max/mean."""

    count: Annotated[int, Field(ge=1)]
    from_ms: TimeMs
    to_ms: TimeMs
    series: Annotated[list[SeriesSummary], Field(default_factory=list, max_length=MAX_SERIES)]


# -- records ---------------------------------------------------------------------------------------------


class _Record(Message):
    seq: Seq
    kind: str  # narrowed to one literal by each record kind
    at_ms: TimeMs

    @property
    def last_seq(self) -> int:
        """The highest seq this record stands for (``seq_to`` for a summary, ``seq`` otherwise)."""
        return self.seq


class TelemetryRecord(_Record):
    kind: Literal["telemetry"]
    body: TelemetryBody


class AlarmRecord(_Record):
    kind: Literal["alarm"]
    body: AlarmBody


class EventRecord(_Record):
    kind: Literal["event"]
    body: EventBody


class SessionRecord(_Record):
    kind: Literal["session"]
    body: SessionBody


class LockAuditRecord(_Record):
    kind: Literal["lock_audit"]
    body: LockAuditBody


class SummaryRecord(_Record):
    kind: Literal["summary"]
    seq_to: Seq
    body: SummaryBody

    @model_validator(mode="after")
    def _range(self) -> SummaryRecord:
        if self.seq_to < self.seq:
            raise ValueError("seq_to must not be below seq")
        if self.body.count > self.seq_to - self.seq + 1:
            raise ValueError("count exceeds the seq range")
        return self

    @property
    def last_seq(self) -> int:
        return self.seq_to


Record = Annotated[
    TelemetryRecord | AlarmRecord | EventRecord | SessionRecord | LockAuditRecord | SummaryRecord,
    Field(discriminator="kind"),
]
RECORD_KINDS = ("telemetry", "alarm", "event", "session", "lock_audit", "summary")
RECORD_ADAPTER: TypeAdapter[Record] = TypeAdapter(Record)


def make_record(seq: int, kind: str, at_ms: int, body: Mapping[str, Any], *, seq_to: int | None = None) -> Record:
    """A validated record from its parts (e.g. an outbox row); malformed → EnvelopeError.

    Validate at the edge *before* storing a record: a body the cloud would refuse must never reach the
    outbox, where it would block every later batch.
    """
    value: dict[str, Any] = {"seq": seq, "kind": kind, "at_ms": at_ms, "body": dict(body)}
    if kind == "summary" or seq_to not in (None, seq):  # on another kind, a real range is refused as extra
        value["seq_to"] = seq if seq_to is None else seq_to
    return parse_python(RECORD_ADAPTER, value, what="record")


def summarize_telemetry(readings: Iterable[tuple[int, Mapping[str, Any]]]) -> dict[str, Any]:
    """A summary body for folded telemetry: ``readings`` are (at_ms, telemetry body) in seq order.

    Series are kept per (detector, gas) in first-seen order, at most MAX_SERIES of them (a gateway has far
    fewer); readings without a value count in ``count`` but not in a series.
    """
    count = 0
    first_ms = last_ms = 0
    series: dict[tuple[str, str], dict[str, Any]] = {}
    for at_ms, body in readings:
        if count == 0:
            first_ms = at_ms
        count += 1
        last_ms = at_ms
        for gas in body.get("gases", ()):
            value = gas.get("value")
            if value is None:
                continue
            key = (body["detector_id"], gas["gas"])
            acc = series.get(key)
            if acc is None:
                if len(series) >= MAX_SERIES:
                    continue
                series[key] = {"space_id": body["space_id"], "detector_id": body["detector_id"], "gas": gas["gas"],
                               "unit": gas["unit"], "n": 1, "min": value, "max": value, "sum": value}
                continue
            acc["n"] += 1
            acc["min"] = min(acc["min"], value)
            acc["max"] = max(acc["max"], value)
            acc["sum"] += value
    if count == 0:
        raise ValueError("nothing to summarize")
    out = []
    for acc in series.values():
        total = acc.pop("sum")
        out.append({**acc, "mean": total / acc["n"]})
    return {"count": count, "from_ms": first_ms, "to_ms": last_ms, "series": out}
