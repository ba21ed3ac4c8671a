"""A gateway whose outbox was lost, twice, against the real ingest path (PostgreSQL): the new outboxes' first
batches — summaries over each lost outbox's range, then new records above the seq floor — move the watermark past
everything that was lost, none of the new records is taken for a duplicate, a summary the cloud stored from a
compaction before the loss does not collide, and the ``state_lost`` alarm opens an alert of its own."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cloud.alerts.models import Alert
from cloud.db.engine import Database
from cloud.ingest.service import IngestResult, Sender, ingest_batch
from cloud.telemetry.sink import SqlSink
from edge.outbox import Outbox
from edge.outbox.floor import SeqFloor
from fwsim.stage.world import World
from protocols.uplink import decode_envelope, encode_stored
from tests.cloud.conftest import Clock
from tests.cloud.ingest.helpers import T0_MS, stream

GW = "gw-e1"


def send(database: Database, world: World, rows: list[Any], now: datetime) -> IngestResult:
    envelope = decode_envelope(encode_stored(GW, 1, T0_MS, rows))
    with database.session(write=True) as db:
        result = ingest_batch(db, sender=Sender(GW, world["E1"]), envelope=envelope, sink=SqlSink(), now=now)
        db.commit()
    return result


def telemetry_body() -> dict[str, Any]:
    return {"space_id": "SP1", "detector_id": "GD-SP1", "gases": [{"gas": "H2S", "value": 0.5, "unit": "ppm"}]}


def alarm_body(alarm_id: int, cause: str) -> dict[str, Any]:
    return {"alarm_id": str(alarm_id), "state": "raised", "cause": cause, "level": 2, "space_id": "SP1"}


async def an_outbox(path: Path, floor_path: Path, now_ms: int) -> Outbox:
    """The outbox as the daemon opens it: with its floor; continuing above a lost one when the floor says so."""
    floor = SeqFloor.load(floor_path)
    if floor is None:
        return await Outbox.open(path, floor=SeqFloor(floor_path, 1, 1), cap=20, span=10)
    lost, start = floor.lost_ranges(), floor.begin_outbox()
    box = await Outbox.open(path, floor=floor, cap=20, span=10)
    await box.continue_after_loss(start, lost, now_ms)
    return box


def test_the_watermark_passes_lost_outboxes(database: Database, world: World, tokens: dict[str, str],
                                            clock: Clock, tmp_path: Path) -> None:
    asyncio.run(scenario(database, world, clock, tmp_path))


async def scenario(database: Database, world: World, clock: Clock, tmp_path: Path) -> None:
    path, floor_path = tmp_path / "outbox.db", tmp_path / "outbox.seq"
    box = await an_outbox(path, floor_path, T0_MS)
    await box.append("event", T0_MS, {"type": "gateway_started"})
    for i in range(40):  # over the cap of 20: the oldest telemetry is folded into summaries
        await box.append("telemetry", T0_MS + i, telemetry_body())
    await box.append("alarm", T0_MS + 50, alarm_body(7, "gas_level2"))
    await box.flush()
    rows = await box.pending_rows(100)
    assert any(kind == "summary" for _s, _t, kind, _a, _b in rows[:3])  # a compaction summary, sent before the loss
    # Some of it reached the cloud (the alarm too), the rest is lost with the file.
    first = send(database, world, [*rows[:8], rows[-1]], clock.now)
    assert first.ack.gaps
    await box.close()
    path.unlink()

    for generation in range(2):  # lost once, and the replacement lost again before it sent anything
        box = await an_outbox(path, floor_path, T0_MS + 100_000)
        await box.append("event", T0_MS + 100_000, {"type": "gateway_started"})
        await box.append("alarm", T0_MS + 100_001, alarm_body(1042 + generation, "state_lost"))
        rows = await box.pending_rows(100)
        await box.close()
        path.unlink()
    result = send(database, world, rows, clock.now)

    new_seqs = [seq for seq, _t, kind, _a, _b in rows if kind != "summary"]
    assert result.ack.watermark == new_seqs[-1] > first.ack.watermark and result.ack.gaps == []
    assert result.stored == len(rows) and result.duplicates == 0  # nothing new taken for a duplicate
    s = stream(database, GW)
    assert s is not None and s.watermark == new_seqs[-1]
    with database.session(write=False) as db:
        causes = sorted((a.alarm_id, a.cause) for a in db.execute(select(Alert)).scalars() if a.alarm_id)
    assert causes == [("1043", "state_lost"), ("7", "gas_level2")]
