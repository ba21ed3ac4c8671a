"""The outbox against a real SQLite file: numbering, durability across a SIGKILL, acks, compaction."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edge.outbox import Outbox, OutboxError


async def test_append_numbers_in_order_and_pending_returns_committed(tmp_path: Path) -> None:
    box = await Outbox.open(tmp_path / "o.db", epoch=7)
    try:
        seqs = await asyncio.gather(*(box.append("telemetry", i, {"i": i}) for i in range(100)))
        assert seqs == list(range(1, 101))
        pending = await box.pending(1000)
        assert [r.seq for r in pending] == seqs
        assert pending[5].body == {"i": 5} and pending[5].kind == "telemetry"
        assert box.commits < 100  # concurrent appends shared commits (group commit)
        assert box.epoch == 7
    finally:
        await box.close()


async def test_acknowledge_deletes_exactly_up_to_the_watermark(tmp_path: Path) -> None:
    box = await Outbox.open(tmp_path / "o.db")
    try:
        for i in range(10):
            await box.append("alarm" if i % 3 == 0 else "telemetry", i, {"i": i})
        assert await box.acknowledge(4) == 4
        assert [r.seq for r in await box.pending(100)] == [5, 6, 7, 8, 9, 10]
        assert [r.seq for r in await box.pending(2, after_seq=6)] == [7, 8]
        with pytest.raises(OutboxError, match="beyond"):
            await box.acknowledge(11)
        assert box.count == 6
    finally:
        await box.close()


async def test_numbering_resumes_after_reopen_even_when_everything_was_acked(tmp_path: Path) -> None:
    box = await Outbox.open(tmp_path / "o.db")
    for i in range(5):
        await box.append("event", i, {})
    await box.acknowledge(5)
    await box.close()
    box = await Outbox.open(tmp_path / "o.db", epoch=99)  # epoch is set once, at creation
    try:
        assert await box.append("event", 0, {}) == 6
        assert box.epoch == 1
    finally:
        await box.close()


CRASHER = textwrap.dedent("""
    import asyncio, sys
    from edge.outbox import Outbox

    async def main():
        box = await Outbox.open(sys.argv[1])
        i = 0
        while True:
            seqs = await asyncio.gather(*(box.append("alarm", i, {"n": i + k}) for k in range(20)))
            i += 20
            print(seqs[-1], flush=True)   # acknowledged to the caller only after commit

    asyncio.run(main())
""")


def test_sigkill_loses_no_committed_record_and_leaves_no_gap(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        last_reported = 0
        assert proc.stdout is not None
        while last_reported < 2000:
            line = proc.stdout.readline()
            assert line, "the writer process died early"
            last_reported = int(line)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()

    async def check() -> None:
        box = await Outbox.open(db)
        try:
            seqs = [r.seq for r in await box.pending(10**6)]
            assert seqs[-1] >= last_reported  # everything reported as stored is there
            assert seqs == list(range(1, len(seqs) + 1))  # and nothing is missing in between
            assert await box.append("alarm", 0, {}) == seqs[-1] + 1  # numbering continues without a gap
        finally:
            await box.close()

    asyncio.run(check())


async def test_compaction_folds_old_telemetry_never_alarms_and_covers_every_seq(tmp_path: Path) -> None:
    box = await Outbox.open(tmp_path / "o.db", cap=50, span=10)
    try:
        for i in range(200):
            await box.append("alarm" if i % 25 == 0 else "telemetry", i, {"i": i})
        await box.flush()
        await box.append("event", 999, {})  # lets the writer compact after the previous commit
        rows = await box.pending(10**6)
        assert len(rows) <= 60
        alarms = [r for r in rows if r.kind == "alarm"]
        assert len(alarms) == 8 and all(r.body["i"] % 25 == 0 for r in alarms)
        summaries = [r for r in rows if r.kind == "summary"]
        assert summaries and all(r.seq_to > r.seq for r in summaries)
        assert sum(r.body["count"] for r in summaries) == sum(r.seq_to - r.seq + 1 for r in summaries)
        covered = [s for r in rows for s in range(r.seq, r.seq_to + 1)]
        assert covered == list(range(1, 202))  # summaries stand for exactly the seqs they replaced
        assert await box.acknowledge(rows[3].seq_to) == 4
    finally:
        await box.close()


async def test_a_failing_store_holds_records_in_order_and_commits_them_when_it_recovers(tmp_path: Path) -> None:
    faults: list[str | None] = []
    box = await Outbox.open(tmp_path / "o.db", on_fault=faults.append)
    try:
        await box.append("event", 0, {})
        await box._conn.execute("DROP TABLE outbox")  # the store becomes unusable underneath the writer
        seq, stored = box.append_nowait("alarm", 1, {"n": 1})
        for _ in range(100):
            if box.fault:
                break
            await asyncio.sleep(0.01)
        assert box.fault and "no such table" in box.fault and faults == [box.fault]
        more = [box.append_nowait("telemetry", 2, {"n": i})[1] for i in range(3)]  # still accepted, numbered
        assert not stored.done() and box.queued == 4
        await box._conn.execute("CREATE TABLE outbox (seq INTEGER PRIMARY KEY, seq_to INTEGER NOT NULL, "
                                "kind TEXT NOT NULL, at_ms INTEGER NOT NULL, body TEXT NOT NULL)")  # recovered
        assert await asyncio.wait_for(stored, 10) == seq == 2
        assert [await f for f in more] == [3, 4, 5]
        assert box.fault is None and faults[-1] is None
        assert [(r.seq, r.kind) for r in await box.pending(10)] == [(2, "alarm"), (3, "telemetry"), (4, "telemetry"),
                                                                   (5, "telemetry")]
    finally:
        await box.close()


async def test_while_the_store_fails_telemetry_beyond_the_bound_is_folded_never_alarms(tmp_path: Path) -> None:
    box = await Outbox.open(tmp_path / "o.db", max_queue=20, span=10)
    try:
        await box._conn.execute("DROP TABLE outbox")
        futures = []
        for i in range(100):
            futures.append(box.append_nowait("alarm" if i % 25 == 0 else "telemetry", i, {"i": i})[1])
        assert box.queued <= 25 and box.folded > 0  # memory stays bounded
        await box._conn.execute("CREATE TABLE outbox (seq INTEGER PRIMARY KEY, seq_to INTEGER NOT NULL, "
                                "kind TEXT NOT NULL, at_ms INTEGER NOT NULL, body TEXT NOT NULL)")
        await asyncio.wait_for(asyncio.gather(*futures), 10)  # every waiter hears its record is on disk
        rows = await box.pending(1000)
        assert [s for r in rows for s in range(r.seq, r.seq_to + 1)] == list(range(1, 101))  # no gap
        assert [r.body["i"] for r in rows if r.kind == "alarm"] == [0, 25, 50, 75]  # every alarm kept
        summaries = [r for r in rows if r.kind == "summary"]
        assert summaries and sum(r.body["count"] for r in summaries) == sum(r.seq_to - r.seq + 1 for r in summaries)
    finally:
        await box.close()


async def test_close_with_the_store_still_failing_is_bounded_and_fails_the_waiters(tmp_path: Path) -> None:
    box = await Outbox.open(tmp_path / "o.db")
    await box._conn.execute("DROP TABLE outbox")
    _seq, stored = box.append_nowait("alarm", 1, {})
    await asyncio.wait_for(box.close(), 10)
    with pytest.raises(OutboxError, match="closed with the store failing"):
        await stored
