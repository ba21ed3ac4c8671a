"""The seq floor: reserved ahead of every committed seq, and a new outbox after a lost one continues above it
with summaries that let the cloud's watermark pass the lost ranges (checked with the cloud's own watermark code)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cloud.ingest.watermark import advance
from edge.outbox import Outbox, OutboxError
from edge.outbox.floor import BLOCK, FloorError, SeqFloor
from protocols.uplink import decode_envelope, encode_stored


async def appended(box: Outbox, n: int, kind: str = "telemetry") -> list[int]:
    body = {"type": "gateway_started"} if kind == "event" else {"i": 0}
    return list(await asyncio.gather(*(box.append(kind, 1000 + i, body) for i in range(n))))


async def test_the_floor_is_written_ahead_of_every_committed_seq(tmp_path: Path) -> None:
    floor = SeqFloor(tmp_path / "outbox.seq", 1, 1)
    box = await Outbox.open(tmp_path / "o.db", floor=floor)
    try:
        assert SeqFloor.load(floor.path).reserved == 1 + BLOCK  # reserved at open, before any record
        seqs = await appended(box, BLOCK + 10)
        on_disk = SeqFloor.load(floor.path)
        assert on_disk is not None and on_disk.reserved > seqs[-1] and on_disk.epoch == 1
        assert floor.writes == 2  # one write per block, not per record
    finally:
        await box.close()


async def test_an_outbox_ahead_of_its_floor_moves_the_floor(tmp_path: Path) -> None:
    box = await Outbox.open(tmp_path / "o.db")
    await appended(box, 20)
    await box.close()
    floor = SeqFloor(tmp_path / "outbox.seq", 1, 5)  # e.g. an old copy of the file
    box = await Outbox.open(tmp_path / "o.db", floor=floor)
    await box.close()
    assert SeqFloor.load(floor.path).reserved == 21 + BLOCK


async def test_a_new_epoch_restarts_the_floor(tmp_path: Path) -> None:
    floor = SeqFloor(tmp_path / "outbox.seq", 1, 9000, [1, 5000])
    box = await Outbox.open(tmp_path / "o.db", epoch=2, floor=floor)
    await box.close()
    again = SeqFloor.load(floor.path)
    assert (again.epoch, again.starts, again.reserved) == (2, [1], 1 + BLOCK)


async def test_a_new_outbox_continues_above_a_lost_one_and_the_cloud_watermark_passes(tmp_path: Path) -> None:
    floor = SeqFloor(tmp_path / "outbox.seq", 3, 1)
    box = await Outbox.open(tmp_path / "o.db", epoch=3, floor=floor)
    first = await appended(box, 30)
    await box.close()
    cloud_has = [(s, s) for s in first[:12]] + [(20, 20)]  # what reached the cloud before the loss, a gap at 13…19
    (tmp_path / "o.db").unlink()  # lost

    for generation in range(2):
        floor = SeqFloor.load(tmp_path / "outbox.seq")
        assert floor is not None
        lost = floor.lost_ranges()
        start = floor.begin_outbox()
        assert start > max(first) and lost[-1][1] == start - 1 and lost[0][0] == 1
        box = await Outbox.open(tmp_path / "o.db", epoch=3, floor=floor)
        try:
            await box.continue_after_loss(start, lost, 5000)
            later = await appended(box, 3, kind="event")
            assert later == [start, start + 1, start + 2]
            rows = await box.pending_rows(100)
            assert [(s, t, k) for s, t, k, _a, _b in rows[:len(lost)]] == [(a, b, "summary") for a, b in lost]
            envelope = decode_envelope(encode_stored("gw-1", 3, 6000, rows))  # the cloud accepts the batch
            assert [r.seq for r in envelope.records] == [a for a, _b in lost] + later
        finally:
            await box.close()
        # The cloud, having stored what it got, takes the summaries: its watermark reaches the new records.
        ranges = sorted(cloud_has + [(r.seq, getattr(r, "seq_to", r.seq)) for r in envelope.records])
        watermark, gaps = advance(0, ranges)
        assert (watermark, gaps) == (later[-1], [])
        (tmp_path / "o.db").unlink()  # and lost again: the next outbox covers both earlier ranges
        assert len(floor.lost_ranges()) == generation + 2


async def test_only_an_empty_outbox_continues_a_lost_one(tmp_path: Path) -> None:
    box = await Outbox.open(tmp_path / "o.db")
    try:
        with pytest.raises(OutboxError, match="below the new start"):
            await box.continue_after_loss(10, [(1, 10)], 0)
        await box.append("event", 0, {})
        with pytest.raises(OutboxError, match="empty"):
            await box.continue_after_loss(10, [(1, 9)], 0)
    finally:
        await box.close()


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", '{"version": 1, "epoch": 1, "reserved": "9", "starts": [1]}',
                                  '{"version": 1, "epoch": 1, "reserved": 9, "starts": [10]}',
                                  '{"version": 2, "epoch": 1, "reserved": 9, "starts": [1]}'])
def test_an_unreadable_floor_is_a_floor_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "outbox.seq"
    path.write_text(text)
    with pytest.raises(FloorError):
        SeqFloor.load(path)


def test_a_missing_floor_is_none_and_a_saved_one_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "outbox.seq"
    assert SeqFloor.load(path) is None
    SeqFloor(path, 4, 77, [1, 50]).save()
    assert json.loads(path.read_text())["starts"] == [1, 50]
    loaded = SeqFloor.load(path)
    assert (loaded.epoch, loaded.reserved, loaded.starts) == (4, 77, [1, 50])
    assert (path.stat().st_mode & 0o777) == 0o600
