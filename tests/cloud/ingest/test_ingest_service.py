"""The one ingest path on SQLite and PostgreSQL: duplicates, out-of-order batches, gaps, re-sends after a lost
ack, summaries over stored ranges, rollback, and two writers storing the same gateway's batches at once."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from cloud.db.engine import Database
from cloud.ingest.models import UplinkRecord, UplinkSummary
from cloud.ingest.service import IngestResult, Sender, ingest_batch
from cloud.registry.ids import space_uid
from cloud.sessions.models import LiveSession
from cloud.telemetry.models import LatestReading, Reading
from cloud.telemetry.sink import Origin, SqlSink
from fwsim.stage.world import World
from protocols.uplink import Ack
from protocols.uplink.fields import b64url_encode
from tests.cloud.conftest import Clock
from tests.cloud.ingest.helpers import (
    batch,
    reading_count,
    session,
    stored_seqs,
    stream,
    summary,
    telemetry,
)

GW = "gw-e1"


def ingest(database: Database, world: World, records: list[dict[str, Any]], now: datetime, *, epoch: int = 1,
           sink: Any = None) -> IngestResult:
    with database.session(write=True) as db:
        result = ingest_batch(db, sender=Sender(GW, world["E1"]), envelope=batch(GW, records, epoch=epoch),
                              sink=sink or SqlSink(), now=now)
        db.commit()
    return result


def gaps(ack: Ack) -> list[tuple[int, int]]:
    return [(g.first, g.last) for g in ack.gaps]


def test_a_batch_is_stored_once_however_often_it_comes(database: Database, world: World, tokens: dict[str, str],
                                                       clock: Clock) -> None:
    records = [telemetry(s) for s in range(1, 11)]
    first = ingest(database, world, records, clock.now)
    assert (first.ack.watermark, first.stored, first.duplicates, first.readings) == (10, 10, 0, 20)
    again = ingest(database, world, records, clock.now)
    assert (again.ack.watermark, again.stored, again.duplicates, again.readings) == (10, 0, 10, 0)
    assert stored_seqs(database, GW) == list(range(1, 11))
    assert reading_count(database, GW) == 20
    s = stream(database, GW)
    assert s is not None and (s.watermark, s.records, s.duplicates) == (10, 10, 10)


def test_out_of_order_batches_are_ordered_by_seq(database: Database, world: World, tokens: dict[str, str],
                                                 clock: Clock) -> None:
    late = ingest(database, world, [telemetry(s) for s in range(11, 21)], clock.now)
    assert late.ack.watermark == 0 and gaps(late.ack) == [(1, 10)]
    early = ingest(database, world, [telemetry(s) for s in range(1, 11)], clock.now)
    assert early.ack.watermark == 20 and early.ack.gaps == []
    assert stored_seqs(database, GW) == list(range(1, 21))


def test_gaps_are_reported_lowest_first_until_filled(database: Database, world: World, tokens: dict[str, str],
                                                     clock: Clock) -> None:
    r = ingest(database, world, [telemetry(s) for s in (1, 2, 3, 6, 7, 10)], clock.now)
    assert r.ack.watermark == 3 and gaps(r.ack) == [(4, 5), (8, 9)]
    s = stream(database, GW)
    assert s is not None and s.gaps == [[4, 5], [8, 9]]
    r = ingest(database, world, [telemetry(8), telemetry(9)], clock.now)
    assert r.ack.watermark == 3 and gaps(r.ack) == [(4, 5)]
    r = ingest(database, world, [telemetry(4), telemetry(5)], clock.now)
    assert r.ack.watermark == 10 and r.ack.gaps == []
    # An empty batch asks for the ack and changes nothing.
    r = ingest(database, world, [], clock.now)
    assert (r.ack.watermark, r.stored) == (10, 0)


def test_resent_after_a_lost_ack_nothing_doubles(database: Database, world: World, tokens: dict[str, str],
                                                 clock: Clock) -> None:
    ingest(database, world, [telemetry(s) for s in range(1, 6)], clock.now)  # the ack of this one is lost
    r = ingest(database, world, [telemetry(s) for s in range(1, 9)], clock.now)  # the gateway re-sends, and more
    assert (r.ack.watermark, r.stored, r.duplicates) == (8, 3, 5)
    assert stored_seqs(database, GW) == list(range(1, 9))
    assert reading_count(database, GW) == 16


def test_a_summary_accounts_for_its_whole_range_even_over_stored_records(database: Database, world: World,
                                                                        tokens: dict[str, str],
                                                                        clock: Clock) -> None:
    ingest(database, world, [telemetry(s) for s in range(1, 6)], clock.now)
    # The gateway folded 3..9 after sending 3..5 (that ack was lost): the summary's own seq 3 is stored already.
    r = ingest(database, world, [summary(3, 9), telemetry(10)], clock.now)
    assert r.ack.watermark == 10 and r.ack.gaps == []
    assert stored_seqs(database, GW) == list(range(1, 11))
    assert reading_count(database, GW) == 12  # 1..5 and 10; the folded ones live in the summary
    with database.session(write=False) as db:
        assert db.execute(select(func.count()).select_from(UplinkSummary)).scalar_one() == 1
    # The same summary again, and a late record inside its range: nothing changes the watermark or doubles.
    r = ingest(database, world, [summary(3, 9)], clock.now)
    assert (r.ack.watermark, r.stored, r.duplicates) == (10, 0, 1)
    r = ingest(database, world, [telemetry(7)], clock.now)
    assert r.ack.watermark == 10
    assert stored_seqs(database, GW) == list(range(1, 11))


def test_a_summary_can_close_a_gap_and_start_a_stream(database: Database, world: World, tokens: dict[str, str],
                                                      clock: Clock) -> None:
    r = ingest(database, world, [telemetry(8)], clock.now)
    assert gaps(r.ack) == [(1, 7)]
    r = ingest(database, world, [summary(1, 7)], clock.now)
    assert r.ack.watermark == 8


def test_epochs_are_separate_streams(database: Database, world: World, tokens: dict[str, str],
                                     clock: Clock) -> None:
    ingest(database, world, [telemetry(s) for s in range(1, 4)], clock.now, epoch=1)
    r = ingest(database, world, [telemetry(1)], clock.now, epoch=2)
    assert (r.ack.epoch, r.ack.watermark, r.stored) == (2, 1, 1)
    assert stored_seqs(database, GW, 1) == [1, 2, 3] and stored_seqs(database, GW, 2) == [1]


class FailingSink(SqlSink):
    def write(self, db: Any, origin: Origin, values: Any) -> None:
        super().write(db, origin, values)
        raise RuntimeError("the telemetry store went away mid-batch")


def test_a_batch_that_fails_midway_leaves_nothing_and_is_stored_whole_on_retry(
        database: Database, world: World, tokens: dict[str, str], clock: Clock) -> None:
    records = [telemetry(1), session(2, "s1", "in_work"), telemetry(3)]
    with pytest.raises(RuntimeError, match="mid-batch"):
        ingest(database, world, records, clock.now, sink=FailingSink())
    assert stored_seqs(database, GW) == [] and reading_count(database, GW) == 0 and stream(database, GW) is None
    r = ingest(database, world, records, clock.now)
    assert (r.ack.watermark, r.stored) == (3, 3)
    assert reading_count(database, GW) == 4


def test_readings_and_latest_values(database: Database, world: World, tokens: dict[str, str],
                                    clock: Clock) -> None:
    ingest(database, world, [telemetry(1, h2s=1.0), telemetry(2, h2s=3.0), telemetry(3, space="nowhere",
                                                                                        detector="GD-X")], clock.now)
    ingest(database, world, [telemetry(5, h2s=9.0, at_ms=1)], clock.now)  # an old clock reading: not the latest
    with database.session(write=False) as db:
        rows = db.execute(select(Reading).where(Reading.gas == "H2S").order_by(Reading.seq)).scalars().all()
        assert [(r.seq, r.value, r.space_id, r.space_key) for r in rows] == [
            (1, 1.0, world["SP1"], "SP1"), (2, 3.0, world["SP1"], "SP1"), (3, 0.5, None, "nowhere"),
            (5, 9.0, world["SP1"], "SP1")]
        latest = db.get(LatestReading, (GW, "GD-SP1", "H2S"))
        assert latest is not None and latest.value == 3.0 and latest.space_id == world["SP1"]


def test_a_gateway_cannot_attach_data_to_another_enterprises_space(database: Database, world: World,
                                                                  tokens: dict[str, str], clock: Clock) -> None:
    # SP2 belongs to E2; gw-e1 naming it (by code or by id) gets no registry link.
    ingest(database, world, [telemetry(1, space="SP2"), telemetry(2, space=str(world["SP2"])),
                             session(3, "s9", "in_work", space=str(world["SP2"]))], clock.now)
    with database.session(write=False) as db:
        assert set(db.execute(select(Reading.space_id)).scalars()) == {None}
        assert db.execute(select(LiveSession.space_id)).scalar_one() is None


def test_a_space_named_by_its_wire_uid_is_found_in_the_gateways_enterprise_only(
        database: Database, world: World, tokens: dict[str, str], clock: Clock) -> None:
    own, other = space_uid(world["SP1"]).hex(), space_uid(world["SP2"]).hex()
    ingest(database, world, [telemetry(1, space=own), telemetry(2, space=other)], clock.now)
    with database.session(write=False) as db:
        rows = db.execute(select(Reading.seq, Reading.space_id).where(Reading.gas == "H2S")
                          .order_by(Reading.seq)).all()
    assert [tuple(r) for r in rows] == [(1, world["SP1"]), (2, None)]


def test_sessions_follow_the_gateways_order_not_arrival(database: Database, world: World, tokens: dict[str, str],
                                                        clock: Clock) -> None:
    ingest(database, world, [session(5, "s1", "closed")], clock.now)
    ingest(database, world, [session(3, "s1", "in_work", entrants=2)], clock.now)  # older, arrives later
    with database.session(write=False) as db:
        row = db.get(LiveSession, (GW, "s1"))
        assert row is not None and row.state == "closed" and row.closed_at is not None and row.seq == 5
        assert row.opened_at < row.updated_at


def test_two_writers_storing_overlapping_batches_at_once(database: Database, world: World, tokens: dict[str, str],
                                                         clock: Clock) -> None:
    """Two transactions of one gateway at the same time (two ingest workers): the stream lock orders them."""
    batches = [[telemetry(s) for s in range(a, a + 50)] for a in (1, 26, 51, 76, 1, 101)]
    errors: list[BaseException] = []
    results: list[IngestResult] = []
    start = threading.Barrier(len(batches))

    def run(records: list[dict[str, Any]]) -> None:
        try:
            start.wait(10)
            results.append(ingest(database, world, records, clock.now))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert stored_seqs(database, GW) == list(range(1, 151))
    assert reading_count(database, GW) == 300
    assert sum(r.stored for r in results) == 150
    assert max(r.ack.watermark for r in results) == 150


def test_a_padlock_abuse_report_is_stored_like_any_lock_event(database: Database, world: World,
                                                               tokens: dict[str, str], clock: Clock) -> None:
    # Issue 9: a padlock logs "abuse" (junk requests) instead of backing off; the gateway relays the lock-signed
    # entry and a lock_abuse event, which the cloud must take like any other lock event.
    at_ms = 1_767_225_600_000
    records = [
        {"seq": 1, "kind": "lock_audit", "at_ms": at_ms, "body": {
            "lock_id": "a1b2c3d4e5f60718", "lock_seq": 7, "event": "abuse", "lock_time_s": at_ms // 1000,
            "entry": b64url_encode(b"\xd2\x84" + bytes(40)), "chain_ok": True}},
        {"seq": 2, "kind": "event", "at_ms": at_ms, "body": {
            "type": "lock_abuse", "lock_id": "a1b2c3d4e5f60718", "data": {"lock": "a1b2c3d4e5f60718", "lock_seq": 7}}},
    ]
    result = ingest(database, world, records, clock.now)
    assert (result.ack.watermark, result.stored) == (2, 2)
    with database.session(write=False) as db:
        rows = db.execute(select(UplinkRecord.kind, UplinkRecord.body).where(UplinkRecord.gateway_id == GW)).all()
    bodies = {kind: body for kind, body in rows}
    assert bodies["lock_audit"]["event"] == "abuse" and bodies["event"]["type"] == "lock_abuse"
