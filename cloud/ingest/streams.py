"""The stream row of (gateway, epoch): taken under lock before a batch is stored, so the watermark of one
gateway is computed by one transaction at a time while other gateways' batches proceed in parallel.

PostgreSQL locks the row (``SELECT … FOR UPDATE``); SQLite writers already hold the database's one write lock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, literal, select, union_all
from sqlalchemy.orm import Session

from cloud.db.upsert import insert_ignoring_duplicates
from cloud.ingest.models import IngestStream, UplinkRecord, UplinkSummary
from cloud.ingest.watermark import advance

#: Most stored ranges one watermark computation reads: past a long gap the gaps list is partial and the
#: watermark catches up over several batches, but no batch pays for the whole backlog.
MAX_RANGES_READ = 20_000


def lock_stream(db: Session, *, gateway_id: str, epoch: int, enterprise_id: int, now: datetime) -> IngestStream:
    insert_ignoring_duplicates(db, IngestStream.__table__, [{
        "gateway_id": gateway_id, "epoch": epoch, "enterprise_id": enterprise_id, "watermark": 0, "gaps": [],
        "records": 0, "duplicates": 0, "first_at": now, "last_at": now}])
    stream = db.execute(select(IngestStream).where(IngestStream.gateway_id == gateway_id,
                                                   IngestStream.epoch == epoch)
                        .with_for_update().execution_options(populate_existing=True)).scalar_one()
    return stream


def recompute_watermark(db: Session, stream: IngestStream) -> tuple[int, list[tuple[int, int]]]:
    """Walk the stored ranges above the stream's watermark; store and return the new watermark and gaps."""
    records = select(UplinkRecord.seq.label("first"), UplinkRecord.seq.label("last")).where(
        UplinkRecord.gateway_id == stream.gateway_id, UplinkRecord.epoch == stream.epoch,
        UplinkRecord.seq > stream.watermark)
    summaries = select(UplinkSummary.seq.label("first"), UplinkSummary.seq_to.label("last")).where(
        UplinkSummary.gateway_id == stream.gateway_id, UplinkSummary.epoch == stream.epoch,
        UplinkSummary.seq_to > literal(stream.watermark, BigInteger))
    both = union_all(records, summaries).subquery()
    rows = db.execute(select(both.c.first, both.c.last).order_by(both.c.first).limit(MAX_RANGES_READ)).all()
    watermark, gaps = advance(stream.watermark, ((int(a), int(b)) for a, b in rows))
    stream.watermark = watermark
    stream.gaps = [[a, b] for a, b in gaps]
    return watermark, gaps
