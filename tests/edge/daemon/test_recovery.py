"""The daemon comes up monitoring on a damaged state file: state.json, outbox.db, ledger.db, counters.db.

Each case prepares real files in the state directory (written by the stores themselves), damages one — cut
short, overwritten with garbage, valid JSON of the wrong shape, a SQLite page overwritten in the middle — and
starts the real daemon on the gas simulator. It must start; the bad file is kept beside, named with the time;
a ``state_lost`` alarm is open and on record in the outbox, and the ledger notes the break; once the attendant
has dealt with the alarm the siren is silent, and an H2S spike sounds it again: the gas is being watched.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.core.alarms import AlarmError, AlarmKind
from edge.daemon import Daemon
from edge.daemon.console import call
from edge.daemon.padlocks import HeldPushes
from edge.daemon.recovery import Recovery
from edge.downlink import CounterStore
from edge.ledger import Ledger
from edge.outbox import Outbox
from edge.outbox.floor import BLOCK, SeqFloor
from fwsim.stage.edge_site import SPACE, SPIKE_AT, Site
from protocols.commands import ACK_CHANNEL, DOWN_CHANNEL
from tests.edge.daemon.conftest import no_ntp, stop_or_explain
from tests.edge.daemon.site import outbox_rows
from tests.rig.waiting import eventually

PAGE = 4096
LAST_ALARM_ID = 41  # the highest alarm id the prepared ledger holds
LAST_COUNTER = 17  # the highest command counter the prepared ledger holds a result for


# -- real files, then damage ---------------------------------------------------------------------------------------

def write_state(state_dir: Path) -> None:
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    state = {"version": 1, "alarms": {"next_id": LAST_ALARM_ID + 1, "alarms": []}, "spaces": {}, "locks": {},
             "held_acks": {}}
    (state_dir / "state.json").write_text(json.dumps(state))


async def prepare(state_dir: Path) -> None:
    """A state directory as a running gateway leaves it: state.json, outbox (with its seq floor), ledger, counters."""
    write_state(state_dir)
    outbox = await Outbox.open(state_dir / "outbox.db", floor=SeqFloor(state_dir / "outbox.seq", 1, 1))
    await asyncio.gather(*(outbox.append("telemetry", 1000 + i, {"pad": "x" * 400}) for i in range(300)))
    await outbox.close()
    ledger = await Ledger.open(state_dir / "ledger.db")
    await ledger.append_many([("gas_summary", 1000 + i, {"space_id": SPACE, "pad": "y" * 400}) for i in range(200)])
    await ledger.append("alarm", 2000, {"seq": 301, "alarm_id": str(LAST_ALARM_ID), "state": "raised"})
    await ledger.append("event", 2001, {"seq": 302, "type": "command_result",
                                        "data": {"counter": LAST_COUNTER, "kind": "time", "result": "applied"}})
    await ledger.close()
    counters = await CounterStore.open(state_dir / "counters.db")
    await counters.advance(DOWN_CHANNEL, LAST_COUNTER)
    await counters.advance(ACK_CHANNEL, 5)
    await counters.close()


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: max(len(data) * 3 // 5, 1)])


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(3 * PAGE + 17))


def damaged_page(path: Path) -> None:
    """Overwrite most of a page in the middle of a SQLite file (the header and the first page stay intact)."""
    data = bytearray(path.read_bytes())
    pages = len(data) // PAGE
    assert pages >= 2, f"{path.name} has {pages} page(s)"
    page = max(pages // 2, 1)  # 0-based: never page 0, the header
    data[page * PAGE + 8: page * PAGE + PAGE - 8] = os.urandom(PAGE - 16)
    path.write_bytes(bytes(data))


def wrong_shape(doc: Any) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(json.dumps(doc))
    return write


STATE_WITHOUT_ALARMS = {"version": 1, "spaces": {}, "locks": {}}
STATE_WITH_BAD_ALARM = {"version": 1, "alarms": {"next_id": 3, "alarms": [{"kind": "no_such_kind", "id": 1}]},
                        "spaces": {}}
STATE_WITH_BAD_SPACE = {"version": 1, "alarms": {"next_id": 3, "alarms": []},
                        "spaces": {SPACE: {"session": {"phase": "in_work"}}}}

CASES = [
    ("state.json", truncated), ("state.json", garbage), ("state.json", wrong_shape(STATE_WITHOUT_ALARMS)),
    ("state.json", wrong_shape(STATE_WITH_BAD_ALARM)), ("state.json", wrong_shape(STATE_WITH_BAD_SPACE)),
    ("state.json", wrong_shape([1, 2, 3])),
    ("outbox.db", truncated), ("outbox.db", garbage), ("outbox.db", damaged_page),
    ("ledger.db", truncated), ("ledger.db", garbage), ("ledger.db", damaged_page),
    ("counters.db", truncated), ("counters.db", garbage), ("counters.db", damaged_page),
    ("outbox.seq", truncated), ("outbox.seq", wrong_shape({"version": 1, "epoch": 1, "reserved": -5})),
]


# -- what is checked -----------------------------------------------------------------------------------------------

def ledger_rows(state_dir: Path) -> list[tuple[int, str, dict[str, Any]]]:
    conn = sqlite3.connect(f"file:{state_dir / 'ledger.db'}?mode=ro", uri=True, timeout=5)
    try:
        return [(s, k, json.loads(b)) for s, k, b in conn.execute("SELECT seq, kind, body FROM ledger ORDER BY seq")]
    finally:
        conn.close()


def daemon_on(site: Site) -> Daemon:
    return Daemon(load_edge_config(site.write_config()), clock_keeper=ClockKeeper(ntp=no_ntp), pushes=HeldPushes())


def lost_alarms(daemon: Daemon, name: str) -> list[Any]:
    return [a for a in daemon.alarms.open_alarms() if a.key.kind is AlarmKind.STATE_LOST and a.key.subject == name]


async def settle_alarm(daemon: Daemon, name: str) -> None:
    """What the attendant does: for a lost state.json, look and confirm the space empty; then acknowledge."""
    (alarm,) = lost_alarms(daemon, name)
    if name == "state.json":
        assert alarm.active and daemon.spaces[SPACE].session.unknown_past
        with pytest.raises(AlarmError):  # possibly occupied: an acknowledgement alone does not end it
            await daemon.acknowledge(alarm.id, "attendant-1")
        await daemon.confirm_empty(SPACE, "attendant-1")
        assert not daemon.spaces[SPACE].session.unknown_past
    await daemon.acknowledge(alarm.id, "attendant-1")
    assert not lost_alarms(daemon, name)


@pytest.mark.parametrize(("name", "damage"), CASES, ids=[f"{n}-{getattr(d, '__name__', 'x')}-{i}"
                                                           for i, (n, d) in enumerate(CASES)])
async def test_the_daemon_starts_monitoring_on_a_damaged_file(site: Site, gas: Any, name: str,
                                                                damage: Callable[[Path], None]) -> None:
    sim, clock = gas
    siren = lambda: sim.output_module(10).coils["siren"]  # noqa: E731
    await prepare(site.state_dir)
    bad = site.state_dir / name
    damage(bad)
    evidence = bad.read_bytes()
    daemon = daemon_on(site)
    await daemon.start()
    try:
        # The bad file is kept beside, named with the time, exactly as it was.
        (kept,) = [p for p in site.state_dir.iterdir() if p.name.startswith(f"{name}.corrupt-")]
        assert kept.read_bytes() == evidence and kept.name[len(name) + 9:].endswith("Z")
        # The loss is an open alarm, on record for the cloud, and noted in the ledger.
        (alarm,) = lost_alarms(daemon, name)
        await eventually(lambda: siren() is True, what="the siren for the lost file")
        rows = outbox_rows(site.state_dir)
        raised = [b for _s, k, b in rows if k == "alarm" and b["cause"] == "state_lost" and b["state"] == "raised"]
        assert [b["alarm_id"] for b in raised] == [str(alarm.id)]
        lost = [b for _s, k, b in ledger_rows(site.state_dir) if k == "event" and b["type"] == "storage_lost"]
        assert lost and lost[0]["data"]["file"] == name and lost[0]["data"]["moved_to"] == kept.name
        check_file_specifics(daemon, site, name, alarm.id, rows)
        # Dealt with, the siren stops; the gas is watched: a spike sounds it again.
        await settle_alarm(daemon, name)
        await eventually(lambda: siren() is False, what="the siren off once the alarm is settled")
        clock.jump(SPIKE_AT)
        await eventually(lambda: any(a.key.kind is AlarmKind.GAS_LEVEL2 for a in daemon.alarms.open_alarms()),
                         what="the H2S level-2 alarm")
        await eventually(lambda: siren() is True, what="the siren for the H2S spike")
    finally:
        await stop_or_explain(daemon)
    # What the fresh file holds after the stop reads back: the next start is a plain restart, nothing lost.
    again = daemon_on(site)
    await again.start()
    try:
        assert not again.recovery.losses
    finally:
        await stop_or_explain(again)


def check_file_specifics(daemon: Daemon, site: Site, name: str, alarm_id: int, rows: list[Any]) -> None:
    if name == "state.json":
        assert alarm_id > LAST_ALARM_ID  # the cloud knows alarms by id: none is reused
    if name == "outbox.db":
        # The new outbox continues above the floor the lost one had reserved, and a summary accounts for the
        # lost range, so the cloud neither drops the new records nor waits on a gap.
        assert daemon.outbox is not None
        conn = sqlite3.connect(f"file:{site.state_dir / 'outbox.db'}?mode=ro", uri=True, timeout=5)
        try:
            first = conn.execute("SELECT seq, seq_to, kind FROM outbox ORDER BY seq LIMIT 1").fetchone()
        finally:
            conn.close()
        assert first == (1, BLOCK, "summary")
        assert [s for s, k, b in rows if k == "event" and b["type"] == "gateway_started"] == [BLOCK + 1]
    if name == "counters.db":
        # Replays stay refused: the counter restarts at the last command result on record.
        assert daemon._counters is not None and daemon._counters.last(DOWN_CHANNEL) == LAST_COUNTER
    if name == "outbox.seq":  # rebuilt from the intact outbox: a block above its last seq
        floor = SeqFloor.load(site.state_dir / "outbox.seq")
        assert floor is not None and floor.reserved > 300 and daemon.outbox is not None and daemon.outbox.last_seq > 300
    if name == "ledger.db":
        assert daemon.ledger is not None and daemon.ledger.anchor.seq == 0


async def test_a_replayed_command_stays_refused_after_the_counters_are_lost(site: Site, gas: Any) -> None:
    await prepare(site.state_dir)
    garbage(site.state_dir / "counters.db")
    daemon = daemon_on(site)
    await daemon.start()
    try:
        site.counter = itertools.count(LAST_COUNTER)
        assert await daemon.submit_command(site.time_command()) == "replayed"  # counter 17: applied before the loss
        assert await daemon.submit_command(site.time_command()) == "applied"  # counter 18: fresh
    finally:
        await stop_or_explain(daemon)


async def test_a_missing_state_beside_a_ledger_with_entries_is_a_lost_state(site: Site, gas: Any) -> None:
    await prepare(site.state_dir)
    (site.state_dir / "state.json").unlink()
    daemon = daemon_on(site)
    await daemon.start()
    sock = site.state_dir / "console.sock"
    try:
        (alarm,) = lost_alarms(daemon, "state.json")
        assert alarm.active and (await call(sock, {"op": "status"}))["spaces"][SPACE]["possibly_occupied"] is True
        # The attendant, at the console: the acknowledgement alone is refused, the confirmation then the ack pass.
        refused = await call(sock, {"op": "ack", "alarm_id": alarm.id, "by": "attendant-2"})
        assert (refused["ok"], refused["error"]) == (False, "space_not_confirmed")
        assert (await call(sock, {"op": "confirm_empty", "space": SPACE, "by": "attendant-2"}))["ok"]
        assert (await call(sock, {"op": "ack", "alarm_id": alarm.id, "by": "attendant-2"}))["ok"]
        assert (await call(sock, {"op": "status"}))["spaces"][SPACE]["possibly_occupied"] is False
        assert not lost_alarms(daemon, "state.json")
        rows = outbox_rows(site.state_dir)
        assert [b["data"]["by"] for _s, k, b in rows if k == "event" and b["type"] == "space_confirmed_empty"] \
            == ["attendant-2"]
    finally:
        await stop_or_explain(daemon)


async def test_a_first_start_is_not_a_loss(site: Site, gas: Any) -> None:
    daemon = daemon_on(site)
    await daemon.start()
    try:
        assert not daemon.recovery.losses and not daemon.alarms.open_alarms()
    finally:
        await stop_or_explain(daemon)


async def test_a_lost_state_not_yet_confirmed_outlives_a_restart(site: Site, gas: Any) -> None:
    await prepare(site.state_dir)
    garbage(site.state_dir / "state.json")
    first = daemon_on(site)
    await first.start()
    try:
        (alarm,) = lost_alarms(first, "state.json")
    finally:
        await stop_or_explain(first)
    again = daemon_on(site)
    await again.start()
    try:
        assert not again.recovery.losses  # the fresh state.json reads back …
        (still,) = lost_alarms(again, "state.json")  # … and the space is still possibly occupied
        assert still.id == alarm.id and still.active and again.spaces[SPACE].session.unknown_past
    finally:
        await stop_or_explain(again)


async def test_a_locked_store_is_not_damage_and_is_left_in_place(tmp_path: Path) -> None:
    await prepare(tmp_path)
    holder = sqlite3.connect(str(tmp_path / "ledger.db"), timeout=0)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    recovery = Recovery(tmp_path)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await recovery.open_ledger(tmp_path / "ledger.db")
    finally:
        holder.close()
    assert not recovery.losses and not [p for p in os.listdir(tmp_path) if ".corrupt-" in p]
