"""The one ingest path. Both doors (HTTP batches, the MQTT consumer) call :func:`ingest_batch` inside a write
transaction, commit, and only then answer with the ack it returns.

Idempotent by (gateway, epoch, seq): a batch first locks its stream's row, then stores only the records whose
key is not stored yet (INSERT … ON CONFLICT DO NOTHING backing that up), and only those have effects (readings,
alerts, sessions), so a batch stored twice — re-sent after a lost ack, delivered twice by the broker, stored by
two workers at once — changes nothing the second time.
Nothing is kept in memory between batches: any number of workers can share the work.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cloud.alerts import intake as alert_intake
from cloud.alerts.settings import AlertSettings
from cloud.db.upsert import bulk_insert_ignoring_duplicates, driver_datetime, insert_ignoring_duplicates
from cloud.devices.models import Gateway
from cloud.downlink.results import RESULT_EVENT, store_results
from cloud.ingest.models import UplinkRecord, UplinkSummary
from cloud.ingest.streams import lock_stream, recompute_watermark
from cloud.registry.space_names import SpaceResolver
from cloud.sessions import intake as session_intake
from cloud.telemetry.sink import Origin, TelemetrySink, flatten, update_latest
from cloud.wiretime import from_ms
from protocols.uplink import Ack, Envelope, make_ack
from protocols.uplink.records import (
    AlarmRecord,
    EventRecord,
    LockAuditRecord,
    Record,
    SessionRecord,
    SummaryRecord,
    TelemetryRecord,
)

log = structlog.get_logger(__name__)

RECORD_COLUMNS = ["gateway_id", "epoch", "seq", "kind", "at", "received_at", "body"]


@dataclass(frozen=True)
class Sender:
    """The authenticated gateway a batch came from (its certificate, token or topic)."""

    gateway_id: str
    enterprise_id: int


@dataclass
class IngestResult:
    ack: Ack
    stored: int = 0  # records and summaries newly stored
    duplicates: int = 0  # already stored, ignored
    readings: int = 0  # gas values written to the telemetry sink
    alert_ids: list[int] = field(default_factory=list)  # alerts raised or changed by this batch


def ingest_batch(db: Session, *, sender: Sender, envelope: Envelope, sink: TelemetrySink,
                 now: datetime, alerts: AlertSettings | None = None) -> IngestResult:
    """Store ``envelope`` (already decoded and bound to ``sender``) in ``db``'s transaction; the caller commits,
    then sends the returned ack. ``alerts``: the thresholds of the rules fed by records (defaults if None)."""
    alerts = alerts or AlertSettings()
    if envelope.gateway != sender.gateway_id:  # the doors check this; a programming error if not
        raise ValueError("the envelope's gateway is not the sender")
    stream = lock_stream(db, gateway_id=sender.gateway_id, epoch=envelope.epoch,
                         enterprise_id=sender.enterprise_id, now=now)
    origin = Origin(sender.gateway_id, envelope.epoch, sender.enterprise_id)
    result = IngestResult(ack=make_ack(sender.gateway_id, envelope.epoch, stream.watermark,
                                       [(a, b) for a, b in stream.gaps]))
    if not envelope.records:
        return result  # a request for the current ack
    summaries = [r for r in envelope.records if isinstance(r, SummaryRecord)]
    others = [r for r in envelope.records if not isinstance(r, SummaryRecord)]
    new_seqs = _store_records(db, origin, others, now)
    new_summaries = insert_ignoring_duplicates(db, UplinkSummary.__table__, [
        {"gateway_id": origin.gateway_id, "epoch": origin.epoch, "seq": s.seq, "seq_to": s.seq_to,
         "count": s.body.count, "from_at": from_ms(s.body.from_ms), "to_at": from_ms(s.body.to_ms),
         "series": [x.model_dump(mode="json") for x in s.body.series], "received_at": now}
        for s in summaries], returning=UplinkSummary.seq)
    fresh = [r for r in others if r.seq in new_seqs]  # in seq order: the envelope's order is the seq order
    result.stored = len(fresh) + len(new_summaries)
    result.duplicates = len(envelope.records) - result.stored
    spaces = SpaceResolver(db, enterprise_id=sender.enterprise_id)
    telemetry = [r for r in fresh if isinstance(r, TelemetryRecord)]
    if telemetry:
        # A detector the registry does not know: its readings are stored all the same, flagged, and alerted on.
        values, unknown_alerts = alert_intake.flag_unknown_detectors(db, origin, flatten(telemetry, spaces), spaces,
                                                                     now=now)
        result.alert_ids += unknown_alerts
        sink.write(db, origin, values)
        update_latest(db, origin, values)
        result.readings = len(values)
        result.alert_ids += alert_intake.apply_detector_flags(db, origin, telemetry, spaces, now=now)
    alarm_steps = functools.partial(_alarm_steps, db, origin.gateway_id)
    alarms = [r for r in fresh if isinstance(r, AlarmRecord)]
    if alarms:
        result.alert_ids += alert_intake.apply_alarms(db, origin, alarms, spaces, now=now, recorded=alarm_steps)
    results = [(r.body.data, from_ms(r.at_ms)) for r in fresh
               if isinstance(r, EventRecord) and r.body.type == RESULT_EVENT]
    if results:
        # After the alarms: a refusal must not reopen an alert the gateway's own records (stored) closed.
        refusals = store_results(db, gateway_id=origin.gateway_id, results=results)
        if refusals:
            result.alert_ids += alert_intake.apply_ack_refusals(db, origin, refusals, now=now, recorded=alarm_steps)
    audits = [r for r in fresh if isinstance(r, LockAuditRecord)]
    if audits:
        def count_refused(lock_id: str, since: datetime, until: datetime) -> int:
            bodies = db.execute(select(UplinkRecord.body).where(
                UplinkRecord.gateway_id == origin.gateway_id, UplinkRecord.kind == "lock_audit",
                UplinkRecord.at > since, UplinkRecord.at <= until)).scalars()
            return sum(1 for b in bodies
                       if b and b.get("event") == alert_intake.REFUSED_EVENT and b.get("lock_id") == lock_id)

        result.alert_ids += alert_intake.check_refused_unlocks(db, origin, audits, now=now, settings=alerts,
                                                               count_refused=count_refused)
    sessions = [r for r in fresh if isinstance(r, SessionRecord)]
    if sessions:
        session_intake.apply_sessions(db, origin, sessions, spaces)
        result.alert_ids += alert_intake.check_permit_windows(db, origin, sessions, spaces, now=now)
    watermark, gaps = recompute_watermark(db, stream)
    stream.records += result.stored
    stream.duplicates += result.duplicates
    stream.last_at = now
    _seen(db, sender.gateway_id, now)
    if gaps:
        log.info("ingest_gaps", gateway=sender.gateway_id, epoch=envelope.epoch, watermark=watermark,
                 gaps=gaps[:4], count=len(gaps))
    result.ack = make_ack(sender.gateway_id, envelope.epoch, watermark, gaps)
    db.flush()
    return result


def _store_records(db: Session, origin: Origin, records: Sequence[Record], now: datetime) -> set[int]:
    """Insert the records not stored yet; return their seqs. Under the stream lock no other transaction
    inserts this stream's records, so the stored seqs read first are exact; ON CONFLICT stays the final word."""
    if not records:
        return set()
    stored = set(db.execute(select(UplinkRecord.seq).where(
        UplinkRecord.gateway_id == origin.gateway_id, UplinkRecord.epoch == origin.epoch,
        UplinkRecord.seq.between(records[0].seq, records[-1].seq))).scalars())
    fresh = [r for r in records if r.seq not in stored]
    received = driver_datetime(db, now)
    bulk_insert_ignoring_duplicates(db, UplinkRecord.__table__, RECORD_COLUMNS, [
        (origin.gateway_id, origin.epoch, r.seq, r.kind, driver_datetime(db, from_ms(r.at_ms)), received,
         # Telemetry values live in the telemetry sink; keeping them here too would double the biggest data.
         None if r.kind == "telemetry" else r.body.model_dump_json(exclude_defaults=True)) for r in fresh])
    return {r.seq for r in fresh}


def _alarm_steps(db: Session, gateway_id: str, alarm_ids: Collection[str]) -> dict[str, set[str]]:
    """The steps (raised, acknowledged, cleared …) the gateway's stored alarm records show for each alarm id."""
    steps: dict[str, set[str]] = {}
    for body in db.execute(select(UplinkRecord.body).where(
            UplinkRecord.gateway_id == gateway_id, UplinkRecord.kind == "alarm",
            UplinkRecord.body["alarm_id"].as_string().in_(list(alarm_ids)))).scalars():
        if body:
            steps.setdefault(body["alarm_id"], set()).add(body["state"])
    return steps


def _seen(db: Session, gateway_id: str, now: datetime) -> None:
    db.execute(update(Gateway).where(Gateway.id == gateway_id).values(last_seen_at=now))
