"""Starting on damaged state files: the gateway always comes up monitoring.

A file of the state directory that cannot be read — ``state.json`` not JSON or of the wrong shape, ``outbox.db``,
``ledger.db`` or ``counters.db`` failing SQLite's ``PRAGMA quick_check`` or not the schema the daemon needs, the
outbox's seq floor ``outbox.seq`` unreadable — is never a reason to stay down: systemd would restart the daemon
for ever and no gas would be watched. Instead the file (with its ``-wal``/``-shm`` companions) is moved aside as
evidence, named with the UTC time (``ledger.db.corrupt-20261206T233519Z``), a fresh one is started, and the
unknown past is treated conservatively:

- ``state.json`` (sessions, entrants, latched alarms): every space is *possibly occupied* — a latched
  ``state_lost`` alarm per space that only the attendant's "confirmed empty" clears (console op
  ``confirm_empty``), the space guarded as if a session were open meanwhile (see :mod:`edge.core.session`). A
  missing state.json beside a ledger that has entries is the same loss. Alarm ids continue above every id the
  ledger and the outbox hold (the cloud knows an alarm by its id), and above the wall clock in seconds when the
  ledger is gone too.
- ``outbox.db``: the new outbox continues above the seq floor (see :mod:`edge.outbox.floor`) with summaries over
  the lost ranges, so the cloud neither drops new records as duplicates nor waits for ever on a gap. Without a
  floor file either, the floor is the ledger's highest seq or the wall clock in ms, whichever is higher.
- ``ledger.db``: a new chain from genesis; its entries say where the old file went.
- ``counters.db`` (replay protection of cloud commands): the down-channel counter restarts at the highest counter
  the ledger and the outbox recorded a result for, and the clock loses its trust unless NTP vouches for it, so
  only a fresh signed ``time`` command passes until the clock is trusted again and every other command must be
  unexpired. (A command accepted in the instant before the loss whose result was never recorded could pass
  once more within its lifetime.)

Every loss is a ``state_lost`` alarm in every space (beacon, the pulsed gateway-fault siren, up to the cloud) and a
``storage_lost`` event record, which the ledger chains: the break is on record in both.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from edge.core.alarms import AlarmSet
from edge.core.clock import Now
from edge.core.session_io import StateLost
from edge.daemon import records
from edge.daemon.padlocks import AuditIntake
from edge.daemon.state import StateError, StateFile
from edge.ledger import Ledger
from edge.outbox import Outbox
from edge.outbox.floor import BLOCK, FloorError, SeqFloor
from protocols.commands import DOWN_CHANNEL

if TYPE_CHECKING:
    from edge.daemon.app import Daemon
    from edge.downlink import CounterStore

log = structlog.get_logger(__name__)

STATE, OUTBOX, LEDGER, COUNTERS, FLOOR = "state.json", "outbox.db", "ledger.db", "counters.db", "outbox.seq"
ALARM_ID_MARGIN = 1000  # alarms raised in the instant before the loss, not yet chained into the ledger
# SQLite errors that say nothing about the file's content: never a reason to move a healthy file aside.
_NOT_DAMAGE = ("locked", "busy", "unable to open", "readonly", "read-only", "disk i/o", "out of memory", "full",
               "permission", "interrupt")


@dataclass(frozen=True, slots=True)
class Loss:
    """One file that could not be read: where it was moved, why, and whether what it knew of the spaces is gone."""

    file: str
    moved_to: str | None
    error: str
    unknown_past: bool = False


class Damaged(Exception):
    """A store's file is damaged (its content, not the disk or a lock): move it aside and start afresh."""


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` opening a store means its file is damaged (rather than the disk, a lock, permissions)."""
    if isinstance(exc, Damaged | KeyError | IndexError | TypeError | ValueError):
        return True
    if isinstance(exc, sqlite3.DatabaseError):
        return not any(word in str(exc).lower() for word in _NOT_DAMAGE)
    return False


def check_sqlite(path: Path) -> None:
    """:class:`Damaged` unless ``path`` (when it exists) passes ``PRAGMA quick_check``: every page and index is
    read once — on a Raspberry Pi a second or so for a full outbox, once per start."""
    if not path.exists():
        return
    conn = sqlite3.connect(str(path), timeout=5)
    try:
        result = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        raise Damaged(f"{path.name}: {exc}") from None
    finally:
        conn.close()
    if result != ["ok"]:
        raise Damaged(f"{path.name}: quick_check: {'; '.join(str(r) for r in result[:3])}")


def _scan(path: Path, query: str) -> int:
    """One integer from a read-only look at a store (0 when it has none or cannot be read)."""
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            value = conn.execute(query).fetchone()[0]
        finally:
            conn.close()
        return int(value or 0)
    except (sqlite3.Error, ValueError, TypeError):
        return 0


class Recovery:
    """Opens the daemon's stores, moving aside any it cannot read; keeps the losses for the records and alarms."""

    def __init__(self, state_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.state_dir = state_dir
        self.clock = clock
        self.losses: list[Loss] = []

    # -- moving aside ---------------------------------------------------------------------------------------

    def quarantine(self, name: str, error: str, *, unknown_past: bool = False) -> Loss:
        """Move ``name`` (and its SQLite companions) aside as ``<name>.corrupt-<UTC time>``; record the loss."""
        path = self.state_dir / name
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%dT%H%M%SZ")
        target = path.with_name(f"{name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = path.with_name(f"{name}.corrupt-{stamp}-{n}")
        moved: str | None = None
        if path.exists():
            os.replace(path, target)
            moved = target.name
        for suffix in ("-wal", "-shm", "-journal"):
            companion = path.with_name(name + suffix)
            if companion.exists():
                os.replace(companion, target.with_name(target.name + suffix))
        with contextlib.suppress(OSError):  # the renames must survive a power cut, or the next start repeats this
            fd = os.open(self.state_dir, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        loss = Loss(name, moved, error[:300], unknown_past)
        self.losses.append(loss)
        log.error("state file unreadable, moved aside and started afresh", file=name, moved_to=moved, error=error,
                  unknown_past=unknown_past)
        return loss

    def lost(self, name: str) -> bool:
        return any(loss.file == name for loss in self.losses)

    # -- opening the stores ----------------------------------------------------------------------------------

    async def open_stores(self, daemon: Daemon) -> dict[str, Any] | None:
        """state.json, then ledger.db, outbox.db and (with a cloud) counters.db, onto ``daemon``; returns the
        saved state (None: none, or lost)."""
        cfg = daemon.config
        saved = self.load_state(daemon.state)
        daemon.ledger = await self.open_ledger(self.state_dir / LEDGER)
        if saved is None and not self.lost(STATE) and not self.lost(LEDGER) and daemon.ledger.head.seq > 0:
            # The state file was deleted (or never written after a first start that got this far): as lost.
            self.losses.append(Loss(STATE, None, f"missing although the ledger holds {daemon.ledger.head.seq} "
                                                 "entries", unknown_past=True))
            log.error("state file missing beside a ledger with entries: treated as lost", file=STATE)
        daemon.outbox = await self.open_outbox(epoch=cfg.gateway.epoch, cap=cfg.outbox.cap, span=cfg.outbox.span)
        if cfg.cloud is not None:
            daemon._counters = await self.open_counters()
        return saved

    def load_state(self, state: StateFile) -> dict[str, Any] | None:
        try:
            return state.load()
        except StateError as exc:
            self.quarantine(STATE, str(exc), unknown_past=True)
            return None

    async def open_ledger(self, path: Path) -> Ledger:
        try:
            check_sqlite(path)
            return await Ledger.open(path)
        except Exception as exc:
            if not is_damage(exc):
                raise
            self.quarantine(LEDGER, str(exc))
        return await Ledger.open(path)

    async def open_outbox(self, *, epoch: int, cap: int, span: int) -> Outbox:
        path = self.state_dir / OUTBOX
        floor_path = self.state_dir / FLOOR
        try:
            floor = SeqFloor.load(floor_path)
        except FloorError as exc:
            self.quarantine(FLOOR, str(exc))
            floor = None
        try:
            check_sqlite(path)
            return await Outbox.open(path, epoch=epoch, cap=cap, span=span,
                                     floor=floor or SeqFloor(floor_path, epoch, 1))
        except Exception as exc:
            if not is_damage(exc):
                raise
            self.quarantine(OUTBOX, str(exc))
        if floor is None:
            # No floor to continue from: above every seq the ledger chained, and above the wall clock in ms (a
            # gateway numbers far fewer than a thousand records a second, so no seq it used can be that high).
            chained = _scan(self.state_dir / LEDGER, "SELECT MAX(json_extract(body, '$.seq')) FROM ledger")
            floor = SeqFloor(floor_path, epoch, max(chained + 1 + BLOCK, int(self.clock() * 1000)))
        if floor.epoch < epoch:  # the lost outbox was of an older epoch: the configured one numbers from 1
            return await Outbox.open(path, epoch=epoch, cap=cap, span=span, floor=SeqFloor(floor_path, epoch, 1))
        epoch = floor.epoch
        lost, start = floor.lost_ranges(), floor.begin_outbox()
        outbox = await Outbox.open(path, epoch=epoch, cap=cap, span=span, floor=floor)
        await outbox.continue_after_loss(start, lost, int(self.clock() * 1000))
        log.warning("outbox continues above the lost one", epoch=epoch, next_seq=start, lost_ranges=lost)
        return outbox

    async def open_counters(self) -> CounterStore:
        from edge.downlink import CounterStore

        path = self.state_dir / COUNTERS
        try:
            check_sqlite(path)
            return await CounterStore.open(path)
        except Exception as exc:
            if not is_damage(exc):
                raise
            self.quarantine(COUNTERS, str(exc))
        store = await CounterStore.open(path)
        floor = max(self._recorded_max(records_query="SELECT MAX(json_extract(body, '$.data.counter')) FROM {table} "
                                                     "WHERE kind = 'event' AND json_extract(body, '$.type') = "
                                                     "'command_result'"))
        if floor > 0:
            await store.advance(DOWN_CHANNEL, floor)
        log.warning("replay counters restarted from the recorded command results", down_counter=floor)
        return store

    def _recorded_max(self, *, records_query: str) -> list[int]:
        """A maximum over the records the ledger chained and those still in the outbox."""
        return [_scan(self.state_dir / LEDGER, records_query.format(table="ledger")),
                _scan(self.state_dir / OUTBOX, records_query.format(table="outbox"))]

    # -- the restored state and what the losses make of it --------------------------------------------------

    def restore(self, daemon: Daemon, saved: dict[str, Any] | None, now: Now) -> dict[str, list[Any]]:
        """``daemon._restore``; a state that does not restore (the wrong shape) is moved aside as lost."""
        try:
            return daemon._restore(saved, now)
        except Exception as exc:
            self.quarantine(STATE, f"{type(exc).__name__}: {exc}", unknown_past=True)
            daemon.state = StateFile(daemon.state.path)  # forget what was read: the next save writes afresh
            daemon.alarms, daemon.spaces = AlarmSet(), {}
            daemon.audit = AuditIntake(daemon.config.padlocks)
            return {}

    def guard(self, daemon: Daemon, now: Now, actions: dict[str, list[Any]]) -> None:
        """After the spaces exist: the alarms of every loss go into each space's startup actions, alarm ids
        continue above the lost ones, and a lost replay counter costs the clock its trust."""
        if not self.losses:
            return
        if any(loss.unknown_past for loss in self.losses):
            daemon.alarms.raise_ids_above(self._alarm_id_floor())
        if self.lost(COUNTERS):
            daemon.clock_keeper.distrust_unless_ntp()
        for space, runner in daemon.spaces.items():
            for loss in self.losses:
                event = StateLost(loss.file, loss.error, loss.unknown_past)
                actions.setdefault(space, []).extend(runner.session.handle(event, now))

    def _alarm_id_floor(self) -> int:
        query = "SELECT MAX(CAST(json_extract(body, '$.alarm_id') AS INTEGER)) FROM {table} WHERE kind = 'alarm'"
        floor = max(self._recorded_max(records_query=query)) + ALARM_ID_MARGIN
        if self.lost(LEDGER):
            floor = max(floor, int(self.clock()))  # no record of past ids: fewer than one alarm a second, ever
        return floor

    def records(self) -> list[records.Record]:
        """A ``storage_lost`` event per loss (chained into the ledger like every event: the break on record)."""
        return [records.event("storage_lost", file=loss.file, moved_to=loss.moved_to or "",
                              error=records.text(loss.error), unknown_past=loss.unknown_past)
                for loss in self.losses]

