"""Carrying out what the safety core decided, in a fixed order: local outputs first, then records, then the rest.

1. Local safety outputs and the attendant: siren, beacon and fan are set (non-blocking: the output module's task
   writes the coils), evacuation orders and notices are announced. Nothing here waits on storage, a lock or the
   network, so a failing disk can never keep the siren off.
2. Every action that leaves a record (alarm steps, session steps, evacuations, notices, attestations, deferred
   pushes) is numbered in the outbox after the input's own records, in the order the core returned them, and
   the step waits briefly for the commit (:meth:`~edge.daemon.journal.Journal.settle`: never while the disk is
   known to fail — the records wait in memory).
3. The persisted state is saved (a deadline set by this step survives a crash from here on).
4. Padlock pushes are signed and handed on (after their records: what the cloud is told comes first).
5. The records are chained into the tamper-evident ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.core.alarms import SirenPattern
from edge.core.clock import Now
from edge.core.session_io import (
    Action,
    DriveBeacon,
    DriveSiren,
    Evacuate,
    Notify,
    PushAttestation,
    RecordAlarm,
    SendPadlockPush,
    SessionChanged,
    StartFan,
)
from edge.daemon import records
from edge.daemon.alarm_log import log_alarm_events
from edge.daemon.journal import Journal
from edge.daemon.outputs import OutputModuleLink
from edge.daemon.padlocks import PushPort, push_kind, sign_attestation
from edge.daemon.spaces import SpaceRunner

log = structlog.get_logger(__name__)

#: Told about every evacuation order and notice for the attendant: (space, kind, text).
Announce = Callable[[str, str, str], None]


class ActionExecutor:
    def __init__(self, journal: Journal, *, outputs: Mapping[str, OutputModuleLink], pushes: PushPort,
                 key: Ed25519PrivateKey, save_state: Callable[[], None], announce: Announce | None = None,
                 held_blobs: Mapping[str, bytes] | None = None) -> None:
        self.journal = journal
        self.outputs = outputs  # by space id
        self.pushes = pushes
        self.key = key
        self.save_state = save_state
        self.announce = announce
        self.held_blobs = held_blobs if held_blobs is not None else {}  # what → signed bytes (revocation list …)
        self.push_failures = 0
        self._entrants_sent: dict[str, int] = {}  # by space: the count the last session record carried

    def records_of(self, runner: SpaceRunner, actions: Sequence[Action]) -> list[records.Record]:
        out: list[records.Record] = []
        session = runner.session
        entrants = len(session.entrants)
        restated = False
        for action in actions:
            if isinstance(action, RecordAlarm):
                permit = session.permit.permit_id if session.permit else None
                out.append(records.alarm(action.event, session_id=runner.session_id, permit_id=permit,
                                         gas=runner.last_state))
            elif isinstance(action, SessionChanged):
                session_id, previous = runner.session_step(action)
                out.append(records.session(action, session_id=session_id, previous=previous,
                                           entrants=entrants, deadline=session.deadline))
                restated = True
            else:
                record = records.for_action(action, session_id=runner.session_id)
                if record is not None:
                    out.append(record)
        # Entrants change without a change of state; the session record carries the count (the one place the cloud
        # reads it, ordered by seq), so a step that changed it restates the session. The first step after a start
        # only learns the restored count.
        sent = self._entrants_sent.setdefault(runner.id, entrants)
        if sent != entrants and not restated and runner.session_id is not None:
            out.append(records.session_entrants(runner.id, session_id=runner.session_id, phase=runner.phase,
                                                permit_id=session.permit.permit_id if session.permit else None,
                                                entrants=entrants, deadline=session.deadline))
        self._entrants_sent[runner.id] = entrants
        return out

    async def execute(self, runner: SpaceRunner, actions: Sequence[Action], now: Now,
                      own: Sequence[records.Record] = ()) -> None:
        """Run one core step's actions; ``own`` are the records of the input that caused them."""
        for action in actions:
            self._drive(runner, action)
        log_alarm_events(actions, session_id=runner.session_id)  # the operator's log: after the outputs, before disk
        staged = self.journal.stage([*own, *self.records_of(runner, actions)], now.wall * 1000)
        runner.session_ended()
        await self.journal.settle(staged)
        self.save_state()
        for action in actions:
            await self._relay(action)
        await self.journal.chain(staged)

    def _drive(self, runner: SpaceRunner, action: Action) -> None:
        """A local output or an announcement: at once, whatever the disk, the lock or the network do."""
        module = self.outputs.get(runner.id)
        if isinstance(action, DriveSiren):
            if module is not None:
                module.want(runner.id, "siren", action.on, pulsed=action.pattern is SirenPattern.PULSED)
        elif isinstance(action, DriveBeacon):
            if module is not None:
                module.want(runner.id, "beacon", action.on)
        elif isinstance(action, StartFan):
            if module is not None:
                module.want(runner.id, "fan", True, runner.config.fan_channel)
        elif isinstance(action, SessionChanged):
            if action.phase == "closed" and module is not None and not self._hazard(runner):
                module.want(runner.id, "fan", False, runner.config.fan_channel)
        elif isinstance(action, Evacuate):
            self._announce(runner.id, "evacuate", "; ".join(action.reasons))
        elif isinstance(action, Notify):
            self._announce(runner.id, "notice", action.message)

    async def _relay(self, action: Action) -> None:
        """A padlock push, once its record is staged (pushes never wait for the radio either)."""
        if isinstance(action, PushAttestation):
            signed = sign_attestation(action.decision, self.key)
            for lock in sorted(action.lock_ids):
                await self._push(lock, "gas_attestation", signed)
        elif isinstance(action, SendPadlockPush):
            blob = self.held_blobs.get(action.what)
            if blob is not None:
                await self._push(action.lock_id, push_kind(action.what), blob)
            else:
                log.error("padlock push lost: nothing held to send", lock=action.lock_id, what=action.what)

    def _hazard(self, runner: SpaceRunner) -> bool:
        state = runner.last_state
        return state is not None and (state.rising or not state.all_in_range)

    async def _push(self, lock: str, kind: str, signed: bytes) -> None:
        try:
            await self.pushes.push(lock, kind, signed)
        except Exception as exc:  # a padlock out of reach must not stop the safety loop; the next step retries
            self.push_failures += 1
            log.warning("padlock push failed", lock=lock, kind=kind, error=str(exc))

    def _announce(self, space: str, kind: str, message: str) -> None:
        log.warning("attendant", space=space, kind=kind, message=message)
        if self.announce is not None:
            try:
                self.announce(space, kind, message)
            except Exception:  # the attendant's terminal failing must not stop the step (the log line stands)
                log.exception("attendant announcement failed", space=space, kind=kind)

