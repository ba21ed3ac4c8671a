"""Telemetry sinks: where the gas values of newly stored telemetry records go, inside the ingest transaction.

``SqlSink`` inserts one ``readings`` row per gas value; ``InfluxSink`` (``cloud.telemetry.influx``) writes
points to InfluxDB 2.x. Either way the newest value of each detector gas is upserted into ``latest_readings``
for live operations. A sink that fails raises, so the batch is rolled back and not acknowledged: the gateway
sends it again (an InfluxDB point written twice is the same point, so a retry never doubles anything).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, NamedTuple, Protocol

from sqlalchemy.orm import Session

from cloud.db.upsert import bulk_insert_ignoring_duplicates, dialect_insert, driver_datetime
from cloud.registry.space_names import SpaceResolver
from cloud.telemetry.models import LatestReading, Reading
from cloud.wiretime import from_ms
from protocols.uplink.records import TelemetryRecord


@dataclass(frozen=True)
class Origin:
    """Who sent the records: the authenticated gateway, its epoch and its enterprise."""

    gateway_id: str
    epoch: int
    enterprise_id: int


class GasValue(NamedTuple):
    """One gas value of one telemetry record, flattened (a tuple: millions are made)."""

    seq: int
    channel: int
    at_ms: int
    space_key: str
    space_id: int | None
    detector_id: str
    gas: str
    value: float | None
    unit: str
    flags: list[str] | None


def flatten(records: Sequence[TelemetryRecord], spaces: SpaceResolver) -> list[GasValue]:
    out = []
    for record in records:
        body = record.body
        space_id = spaces.space_id(body.space_id)
        for channel, gas in enumerate(body.gases):
            flags = [*gas.flags, *body.flags] or None
            out.append(GasValue(record.seq, channel, record.at_ms, body.space_id, space_id, body.detector_id,
                                gas.gas, gas.value, gas.unit, flags))
    return out


class TelemetrySink(Protocol):
    name: str

    def write(self, db: Session, origin: Origin, values: Sequence[GasValue]) -> None:
        """Store ``values`` (all new: their records were just stored) within ``db``'s transaction."""


class SqlSink:
    """Readings into the ``readings`` table (one row per gas value)."""

    name = "sql"
    columns: ClassVar[list[str]] = ["gateway_id", "epoch", "seq", "channel", "enterprise_id", "space_id", "space_key",
                                    "detector_id", "gas", "value", "unit", "flags", "at"]

    def write(self, db: Session, origin: Origin, values: Sequence[GasValue]) -> None:
        # The biggest insert of the platform: driver-level executemany, ON CONFLICT as the final word on keys.
        times: dict[int, datetime] = {}
        rows = []
        for v in values:
            at = times.get(v.at_ms)
            if at is None:
                at = times[v.at_ms] = driver_datetime(db, from_ms(v.at_ms))
            rows.append((origin.gateway_id, origin.epoch, v.seq, v.channel, origin.enterprise_id, v.space_id,
                         v.space_key, v.detector_id, v.gas, v.value, v.unit,
                         json.dumps(v.flags) if v.flags else None, at))
        if db.get_bind().dialect.name == "postgresql":
            _copy(db, rows, self.columns)
        else:
            bulk_insert_ignoring_duplicates(db, Reading.__table__, self.columns, rows)


def _copy(db: Session, rows: list[tuple[Any, ...]], columns: list[str]) -> None:
    """PostgreSQL's COPY, several times faster than any INSERT. It has no ON CONFLICT, and needs none here: a
    record's readings are written only in the transaction that stores the record, under its stream's lock, so
    they cannot exist before; the primary key would still refuse (and roll back) rather than double."""
    raw = db.connection().connection.driver_connection
    assert raw is not None  # a checked-out connection always has its driver's
    with raw.cursor() as cursor, cursor.copy(f"COPY readings ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def update_latest(db: Session, origin: Origin, values: Sequence[GasValue]) -> None:
    """Keep the newest value per (detector, gas): one upsert per series of the batch, newer times win."""
    newest: dict[tuple[str, str], GasValue] = {}
    for v in values:
        key = (v.detector_id, v.gas)
        if key not in newest or v.at_ms >= newest[key].at_ms:
            newest[key] = v
    if not newest:
        return
    table = LatestReading.__table__
    stmt = dialect_insert(db, table)
    changing = ("enterprise_id", "space_id", "space_key", "value", "unit", "flags", "at")
    stmt = stmt.on_conflict_do_update(index_elements=["gateway_id", "detector_id", "gas"],
                                      set_={c: stmt.excluded[c] for c in changing},
                                      where=table.c.at <= stmt.excluded.at)
    rows: list[dict[str, Any]] = [
        {"gateway_id": origin.gateway_id, "detector_id": v.detector_id, "gas": v.gas,
         "enterprise_id": origin.enterprise_id, "space_id": v.space_id, "space_key": v.space_key, "value": v.value,
         "unit": v.unit, "flags": v.flags, "at": from_ms(v.at_ms)} for v in newest.values()]
    db.execute(stmt, rows)
