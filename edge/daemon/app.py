"""The gateway daemon: wires drivers, the safety core, the journal and the cloud link, and runs them as owned tasks.

Every input — a poll, a padlock event, a cloud command, an attendant's input, the clock — is one *step*: under
one lock, the input's own records are numbered in the outbox, the space's session handles it with the time
passed in, and :class:`~edge.daemon.actions.ActionExecutor` carries out the result (records durable first, then
the persisted state, then outputs, then the ledger). Steps of all spaces are serialized: the core is fast and
the order of the records is the order of the decisions.

On start the persisted state is restored — latched alarms, sessions and their deadlines; a deadline missed
while the daemon was down fires at once. A state file that cannot be read never keeps the daemon down: it is moved
aside and started afresh, the unknown past treated as unsafe (:mod:`edge.daemon.recovery`).
Tasks (each named and owned): one poller per detector, one per output
module, ``core-tick`` (timers, staleness, mutes), ``ledger-summary``, the console, the uplink sender and the
downlink when configured, the systemd watchdog. ``READY=1`` goes to systemd once all of them run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import structlog

from edge.clocktrust import ClockKeeper
from edge.config import EdgeConfig, trusted_keys
from edge.core.alarms import ACK_NEEDS_CLEAR, AlarmError, AlarmSet
from edge.core.clock import Now
from edge.core.gas_alarms import held_gas_levels
from edge.core.session_io import (
    EntrantIn,
    EntrantOut,
    EntryConfirmed,
    RecordAlarm,
    SessionInput,
    SpaceConfirmedEmpty,
    Tick,
)
from edge.daemon import records
from edge.daemon.actions import ActionExecutor, Announce
from edge.daemon.commands import CloudCommands
from edge.daemon.detectors import DetectorLink
from edge.daemon.journal import Journal
from edge.daemon.keyfile import load_gateway_key
from edge.daemon.outputs import OutputModuleLink
from edge.daemon.padlocks import AuditIntake, HeldPushes, PushPort, session_inputs
from edge.daemon.recovery import Recovery
from edge.daemon.spaces import SpaceRunner, restore_exposure, save_exposure
from edge.daemon.state import StateFile
from edge.drivers.modbus import ModbusBus, SerialLine, TcpEndpoint
from edge.drivers.modbus.poller import PollResult
from edge.errors import EdgeError
from edge.ledger import Ledger
from edge.ops import Health, Notifier, OpsServer, Registry, WatchdogPinger, watchdog_interval
from edge.outbox import Outbox
from edge.tasks import OwnedTask
from protocols.commands import DOWN_CHANNEL
from protocols.gasprofile import DetectorProfile, DetectorSnapshot, OutputModuleProfile, load_profile
from protocols.uplink.fields import b64url_encode
from safegrid import __version__

log = structlog.get_logger(__name__)

RecordHook = Callable[[int, str, dict[str, Any]], None]


def _link_of(bus: Any) -> SerialLine | TcpEndpoint:
    if bus.serial is not None:
        return SerialLine(bus.serial, baudrate=bus.baudrate, parity=bus.parity, stopbits=bus.stopbits,
                          timeout_s=bus.timeout_s)
    host, _, port = bus.tcp.rpartition(":")
    return TcpEndpoint(host, int(port), timeout_s=bus.timeout_s)


class Daemon:
    """The running gateway. ``await start()``, then ``await run(stop_event)`` or ``await stop()``."""

    def __init__(self, config: EdgeConfig, *, clock_keeper: ClockKeeper | None = None,
                 pushes: PushPort | None = None, announce: Announce | None = None,
                 on_record: RecordHook | None = None, notifier: Notifier | None = None) -> None:
        self.config = config
        self.gateway = config.gateway.id
        self.state_dir = Path(config.gateway.state_dir)
        self.clock_keeper = clock_keeper or ClockKeeper()
        self.pushes: PushPort = pushes or HeldPushes()
        self.announce = announce
        self.on_record = on_record
        self.notifier = notifier or Notifier.from_environment()
        self.health = Health()
        self.metrics = Registry()
        self.held_blobs: dict[str, bytes] = {}
        self.spaces: dict[str, SpaceRunner] = {}
        self.detectors: dict[str, DetectorLink] = {}
        self.output_modules: dict[str, OutputModuleLink] = {}
        self.audit = AuditIntake(config.padlocks)
        self.alarms = AlarmSet()
        self.commands = CloudCommands(self)
        self._lock = asyncio.Lock()
        self._buses: list[ModbusBus] = []
        self._tasks = {name: OwnedTask(name) for name in ("core-tick", "ledger-summary")}
        self._critical: list[asyncio.Task[Any]] = []
        self._started = False
        self._warned: dict[str, frozenset[str]] = {}
        self._fault_reported: dict[str, bool] = {}
        self.outbox: Outbox | None = None
        self.ledger: Ledger | None = None
        self.journal: Journal | None = None
        self.executor: ActionExecutor | None = None
        self.state = StateFile(self.state_dir / "state.json")
        self.recovery = Recovery(self.state_dir)
        self.exposure_file = self.state_dir / "exposure.json"  # STEL/TWA windows: see spaces.save_exposure
        self.gate: Any = None
        self._counters: Any = None
        self.uplink: Any = None
        self.sender: Any = None
        self.downlink: Any = None
        self.console: Any = None
        self.ops: OpsServer | None = None
        self.pinger: WatchdogPinger | None = None
        self.radio: Any = None  # edge.daemon.ble.PadlockRadio, when a padlock has a radio backend
        self.held_acks: dict[int, str] = {}  # alarm id → who acknowledged from afar while the gas was still out
        self._records_total = self.metrics.counter("safegrid_edge_records_total", "Records stored, by kind", ["kind"])
        self._polls_total = self.metrics.counter("safegrid_edge_polls_total", "Detector polls, by outcome",
                                                 ["detector", "outcome"])

    # -- time ---------------------------------------------------------------------------------------------------

    def now(self) -> Now:
        return self.clock_keeper.now()

    # -- lifecycle ----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        cfg = self.config
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = load_gateway_key(Path(cfg.gateway.key_file))
        saved = await self.recovery.open_stores(self)  # an unreadable file is moved aside and started afresh
        assert self.outbox is not None and self.ledger is not None
        self.journal = Journal(self.outbox, self.ledger, on_stored=self._records_stored, on_record=self._on_record)
        await self.clock_keeper.refresh()
        self.clock_keeper.start()
        now = self.now()
        buses = {b.name: ModbusBus(_link_of(b), name=b.name) for b in cfg.buses}
        self._buses = list(buses.values())
        for d in cfg.detectors:
            profile = load_profile(d.profile)
            assert isinstance(profile, DetectorProfile)
            self.detectors[d.id] = DetectorLink(d, buses[d.bus], profile, self._on_poll)
            self.health.register(f"detector:{d.id}")
        for m in cfg.output_modules:
            profile = load_profile(m.profile)
            assert isinstance(profile, OutputModuleProfile)
            self.output_modules[m.id] = OutputModuleLink(m, buses[m.bus], profile, self._on_input)
        restored_actions = self.recovery.restore(self, saved, now)
        self._open_radio(key)
        for s in cfg.spaces:
            self.spaces.setdefault(s.id, SpaceRunner(s, self.alarms, [d for d in self.detectors.values()
                                                                      if d.space == s.id], now))
        self.recovery.guard(self, now, restored_actions)  # what a lost file leaves unknown is treated as unsafe
        restore_exposure(self.exposure_file, self.spaces, now)  # before the first evaluation and reading
        outputs = {s.id: self.output_modules[s.output_module] for s in cfg.spaces if s.output_module}
        self.executor = ActionExecutor(self.journal, outputs=outputs, pushes=self.pushes, key=key,
                                       save_state=self._save_state, announce=self.announce,
                                       held_blobs=self.held_blobs)
        self._key = key
        self.health.register("core", critical=True, max_age_s=max(10.0, 10 * cfg.core.tick_s))
        self.metrics.gauge("safegrid_edge_alarms_open", "Latched alarms", []).set_function(
            lambda: float(len(self.alarms.open_alarms())))
        self.metrics.gauge("safegrid_edge_outbox_records", "Records not yet acknowledged by the cloud", []
                           ).set_function(lambda: float(self.outbox.count if self.outbox else 0))
        self.metrics.gauge("safegrid_edge_sessions_open", "Sessions open", []).set_function(
            lambda: float(sum(r.session.is_open for r in self.spaces.values())))
        await self._startup_records(now, saved is not None, restored_actions)
        await self._start_cloud()
        for module in self.output_modules.values():
            module.start()
        for detector in self.detectors.values():
            detector.start()
        if self.radio is not None:
            await self.radio.start()
        self._critical.append(self._tasks["core-tick"].start(self._tick_loop))
        self._tasks["ledger-summary"].start(self._ledger_loop)
        if cfg.ops.console:
            from edge.daemon.console import Console

            self.console = Console(self, self.state_dir / "console.sock")
            await self.console.start()
        if cfg.ops.health_port is not None:
            self.ops = OpsServer(self.health, self.metrics, host=cfg.ops.health_host, port=cfg.ops.health_port)
            await self.ops.start()
        interval = watchdog_interval()
        if interval is not None:
            self.pinger = WatchdogPinger(self.notifier, interval, self.health.alive)
            self.pinger.start()
        self._started = True
        self.notifier.ready(f"monitoring {len(self.spaces)} space(s), {len(self.detectors)} detector(s)")
        log.info("gateway started", gateway=self.gateway, spaces=len(self.spaces), detectors=len(self.detectors),
                 restored=saved is not None)

    def _restore(self, saved: dict[str, Any] | None, now: Now) -> dict[str, list[Any]]:
        """Latched alarms, sessions and chain cursors from the state file; the actions restoring them caused."""
        if saved is None:
            return {}
        self.alarms, alarm_events = AlarmSet.restore(saved["alarms"], now)
        out: dict[str, list[Any]] = {}
        by_space: dict[str, list[Any]] = {}
        for event in alarm_events:
            by_space.setdefault(event.key.space, []).append(RecordAlarm(event))
        for space in self.config.spaces:
            runner = SpaceRunner(space, self.alarms, [d for d in self.detectors.values() if d.space == space.id], now)
            for gas, level in held_gas_levels(self.alarms.open_alarms(), space.id).items():
                runner.monitor.hold_level(gas, level)
            data = saved.get("spaces", {}).get(space.id)
            actions = by_space.get(space.id, [])
            if data is not None:
                actions += runner.restore(data, self.alarms, now)
            self.spaces[space.id] = runner
            out[space.id] = actions
        self.audit.restore(saved.get("locks", {}))
        # An attendant's acknowledgement held for a gas to clear outlives a restart, as the alarm itself does.
        self.held_acks = {int(alarm_id): str(by) for alarm_id, by in saved.get("held_acks", {}).items()}
        return out

    async def _startup_records(self, now: Now, restored: bool, actions: dict[str, list[Any]]) -> None:
        assert self.journal is not None and self.executor is not None
        opened = [r.id for r in self.spaces.values() if r.session.is_open]
        started = records.event("gateway_started", software=f"safegrid-edge {__version__}", restored=restored,
                                open_sessions=opened)
        async with self._lock:
            first = self.journal.stage([started, *self.recovery.records()], now.wall * 1000)
            for space, runner in self.spaces.items():
                more = list(actions.get(space, []))
                more += runner.session.handle(runner.gas_update(now), now)  # outputs to a known state at once
                await self.executor.execute(runner, more, now, first)
                first = None
            self._save_state()

    async def _start_cloud(self) -> None:
        cfg = self.config
        if cfg.cloud is None:
            return
        from edge.downlink import CommandGate, CounterStore

        if self._counters is None:  # opened (and recovered if need be) with the other stores
            self._counters = await CounterStore.open(self.state_dir / "counters.db")
        self.gate = CommandGate(self._counters, trusted_keys(cfg.cloud.command_keys), gateway=self.gateway,
                                clock_ms=self.clock_keeper.trusted_ms,
                                on_expired_time=self.clock_keeper.distrust_unless_ntp)
        if cfg.uplink is None:
            return
        from edge.downlink import Downlink
        from edge.uplink import Sender, open_uplink

        assert self.outbox is not None
        self.uplink = open_uplink(cfg.uplink, gateway=self.gateway, epoch=cfg.gateway.epoch,
                                  verify_ack=self.gate.verify_ack,
                                  last_down_counter=lambda: self._counters.last(DOWN_CHANNEL),
                                  software=f"safegrid-edge {__version__}",
                                  clock_trusted=lambda: self.clock_keeper.trusted_ms() is not None)
        await self.uplink.start()
        self.sender = Sender(self.outbox, self.uplink, cfg.uplink.batch)
        self.sender.start()
        self.downlink = Downlink(self.uplink, self.gate, report=self._report_command)
        for kind, handler in self.commands.handlers().items():
            self.downlink.register(kind, handler)
        self.downlink.start()

    def _open_radio(self, key: Any) -> None:
        """The radio link to padlocks with a backend (after the restore: the watchers start at the stored cursors)."""
        if self.radio is not None or not any(p.backend for p in self.config.padlocks):
            return
        from edge.daemon.ble import PadlockRadio
        from edge.drivers.ble import TimeSetSigner

        self.radio = PadlockRadio(self.config.padlocks, relay=self.relay_audit,
                                  cursor_of=lambda lock: self.audit.locks[lock].cursor,
                                  time_signer=TimeSetSigner(key, self.clock_keeper.for_padlock), fallback=self.pushes)
        self.pushes = self.radio

    async def stop(self) -> None:
        """Stop every task, save the state, close the stores. Safe to call twice."""
        self.notifier.stopping("stopping")
        if self.pinger is not None:
            await self.pinger.stop()
        if self.radio is not None:  # first: its watchers hand entries to the journal
            await self.radio.stop()
            self.pushes, self.radio = self.radio.fallback, None
        for closer in (self.console, self.ops):
            if closer is not None:
                await closer.close()
        self.console = self.ops = None
        for task in self._tasks.values():
            await task.stop()
        for detector in self.detectors.values():
            await detector.stop()
        for module in self.output_modules.values():
            await module.stop()
        if self.downlink is not None:
            await self.downlink.stop()
        if self.sender is not None:
            await self.sender.stop()
        if self.uplink is not None:
            await self.uplink.close()
        self.downlink = self.sender = self.uplink = None
        await self.clock_keeper.stop()
        for bus in self._buses:
            await bus.close()
        self._buses = []
        if self._started:
            self._save_state()
            save_exposure(self.exposure_file, self.spaces, self.now())
        if self.outbox is not None:
            await self.outbox.close()
        if self.ledger is not None:
            await self.ledger.close()
        if self._counters is not None:
            await self._counters.close()
        self.outbox = self.ledger = self._counters = None
        self._started = False
        log.info("gateway stopped", gateway=self.gateway)

    async def run(self, stop: asyncio.Event) -> int:
        """Run until ``stop`` is set (0) or a critical task dies (1: systemd restarts the daemon)."""
        waiter = asyncio.ensure_future(stop.wait())
        try:
            done, _ = await asyncio.wait([waiter, *self._critical], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
        failed = [t for t in done if t is not waiter]
        for task in failed:
            exc = task.exception() if not task.cancelled() else None
            log.error("critical task ended", task=task.get_name(), error=repr(exc))
        return 1 if failed else 0

    # -- state ----------------------------------------------------------------------------------------------

    def _save_state(self) -> None:
        self.state.save({"alarms": self.alarms.snapshot(),
                         "spaces": {sid: r.snapshot() for sid, r in self.spaces.items()},
                         "locks": self.audit.cursors(),
                         "held_acks": {str(alarm_id): by for alarm_id, by in self.held_acks.items()}})

    def _records_stored(self) -> None:
        if self.sender is not None:
            self.sender.notify()

    def _on_record(self, seq: int, kind: str, body: dict[str, Any]) -> None:
        self._records_total.inc(kind=kind)
        if self.on_record is not None:
            self.on_record(seq, kind, body)

    # -- steps ------------------------------------------------------------------------------------------------

    async def step(self, space: str, inputs: Sequence[SessionInput], *,
                   record: Sequence[records.Record] = ()) -> None:
        """Handle ``inputs`` in ``space``'s session; ``record`` are the input's own records (stored first)."""
        assert self.journal is not None and self.executor is not None
        runner = self.spaces[space]
        async with self._lock:
            now = self.now()
            first = self.journal.stage(record, now.wall * 1000)
            actions = [a for event in inputs for a in runner.session.handle(event, now)]
            await self.executor.execute(runner, actions, now, first)

    async def _on_poll(self, link: DetectorLink, result: PollResult[DetectorSnapshot]) -> None:
        assert self.journal is not None and self.executor is not None
        self._polls_total.inc(detector=link.id, outcome="ok" if result.value is not None else "failed")
        self.health.report(f"detector:{link.id}", not result.comm_fault,
                           "comm-fault" if result.comm_fault else ("ok" if result.value else "poll failed"))
        runner = self.spaces[link.space]
        async with self._lock:
            now = self.now()
            own: list[records.Record] = []
            if result.value is not None:
                own.append(records.telemetry(link.space, link.id, result.value))
            if result.comm_fault != self._fault_reported.get(link.id, False):
                self._fault_reported[link.id] = result.comm_fault
                kind = "detector_comm_fault" if result.comm_fault else "detector_recovered"
                own.append(records.event(kind, space=link.space, detector=link.id,
                                         error=records.text(str(result.error or ""))))
            own += self._setpoint_warnings(link, runner)
            runner.observe(link.readings(result, now.mono))
            first = self.journal.stage(own, now.wall * 1000)
            actions = runner.session.handle(runner.gas_update(now), now)
            await self.executor.execute(runner, actions, now, first)

    def _setpoint_warnings(self, link: DetectorLink, runner: SpaceRunner) -> list[records.Record]:
        cfg = runner.config
        warnings = link.setpoint_warnings(runner.limits, cfg.temperature_c, cfg.pressure_kpa, cfg.lel_pct_vol)
        messages = frozenset(w.message for w in warnings)
        if messages == self._warned.get(link.id, frozenset()):
            return []
        self._warned[link.id] = messages
        return [records.event("config_warning", space=link.space, detector=link.id, gas=w.gas.value,
                              message=records.text(w.message)) for w in warnings]

    async def _tick_loop(self) -> None:
        interval = self.config.core.tick_s
        while True:
            for space in list(self.spaces):
                runner = self.spaces[space]
                assert self.executor is not None
                async with self._lock:
                    now = self.now()
                    actions = runner.session.handle(runner.gas_update(now), now)
                    await self.executor.execute(runner, actions, now)
            await self._apply_held_acks()
            self.health.report("core", True, "ticking")
            await asyncio.sleep(interval)

    async def _ledger_loop(self) -> None:
        interval = self.config.core.ledger_summary_s
        while True:
            await asyncio.sleep(interval)
            try:
                await self.write_ledger_summary()
            except Exception:  # the summary is monitoring evidence, not safety: log and try again next time
                log.exception("ledger summary failed")
            save_exposure(self.exposure_file, self.spaces, self.now())  # this often and on stop, not every poll

    async def write_ledger_summary(self) -> None:
        """A gas summary per space into the ledger, and the ledger's signed head up to the cloud."""
        assert self.journal is not None and self.ledger is not None
        now = self.now()
        for runner in self.spaces.values():
            if runner.last_state is not None:
                await self.journal.chain_summary("gas_summary", now.wall * 1000, records.gas_summary(runner.last_state))
        head = self.ledger.head
        signed = self.ledger.signed_head(self._key)
        await self.journal.write([records.event("ledger_head", seq=head.seq, hash=head.hash.hex(),
                                                signed=b64url_encode(signed))], now.wall * 1000)

    # -- inputs from padlocks, the cloud and the attendant ---------------------------------------------------

    async def relay_audit(self, lock_id: str, entries: Sequence[bytes]) -> int:
        """Audit entries of ``lock_id`` (from the radio link or relayed): verified, recorded, then acted on.
        Returns how many were new. PadlockLinkError ``bad_chain`` when one does not verify (nothing is taken)."""
        verified = self.audit.verify(lock_id, entries)
        space = self.audit.space_of(lock_id)
        for entry in verified:
            session = self.spaces[space].session
            known = session.permit.permit_id if session.permit else None
            inputs = session_inputs(entry.event, lock_id, known_permit=known, session_open=session.is_open)
            self.audit.advance(lock_id, [entry])
            own = [records.lock_audit(lock_id, entry)]
            own.append(records.event(f"lock_{entry.event.kind.name.lower()}", space=space, lock=lock_id,
                                     lock_seq=entry.seq))
            await self.step(space, inputs, record=own)
        return len(verified)

    async def entrant_in(self, space: str, person: str, by: str = "attendant") -> None:
        await self.step(space, [EntrantIn(person, by)],
                        record=[self._attendant_event("entrant_in", space, person=person, by=by)])

    async def entrant_out(self, space: str, person: str, by: str = "attendant") -> None:
        await self.step(space, [EntrantOut(person, by)],
                        record=[self._attendant_event("entrant_out", space, person=person, by=by)])

    async def confirm_entry(self, space: str, by: str) -> None:
        await self.step(space, [EntryConfirmed(by)], record=[self._attendant_event("entry_confirmed", space, by=by)])

    async def confirm_empty(self, space: str, by: str) -> None:
        """The attendant has looked: nobody is inside (ends the possibly-occupied state after a lost state)."""
        await self.step(space, [SpaceConfirmedEmpty(by)],
                        record=[self._attendant_event("space_confirmed_empty", space, by=by)])

    def _attendant_event(self, kind: str, space: str, **data: str) -> records.Record:
        runner = self.spaces[space]
        return records.event(kind, space=space, session_id=runner.session_id,
                             **{k: records.text(v) for k, v in data.items()})

    async def acknowledge(self, alarm_id: int, by: str) -> None:
        """Acknowledge a latched alarm; AlarmError if refused (unknown, or a level-2 gas still out of range)."""
        await self._alarm_op(alarm_id, lambda now: self.alarms.acknowledge(alarm_id, by, now))

    async def acknowledge_when_clear(self, alarm_id: int, by: str) -> bool:
        """A remote acknowledgement (the attendant through the cloud): applied now, or — for an alarm that may
        be acknowledged only once its condition cleared (a level-2 gas) — held and applied when it clears.
        Returns whether it was applied now; AlarmError when it is refused for any other reason."""
        try:
            await self.acknowledge(alarm_id, by)
            return True
        except AlarmError:
            alarm = next((a for a in self.alarms.open_alarms() if a.id == alarm_id), None)
            if alarm is None or not alarm.active or alarm.key.kind not in ACK_NEEDS_CLEAR:
                raise
        self.held_acks[alarm_id] = by
        self._save_state()
        assert self.journal is not None
        await self.journal.write([records.event("alarm_ack_held", space=alarm.key.space, alarm_id=alarm_id,
                                                by=records.text(by))], self.now().wall * 1000)
        return False

    async def _apply_held_acks(self) -> None:
        for alarm_id, by in list(self.held_acks.items()):
            alarm = next((a for a in self.alarms.open_alarms() if a.id == alarm_id), None)
            if alarm is None or alarm.acknowledged:
                del self.held_acks[alarm_id]
                self._save_state()
            elif not alarm.active:
                with contextlib.suppress(AlarmError):  # raced with another acknowledgement
                    await self.acknowledge(alarm_id, by)
                del self.held_acks[alarm_id]
                self._save_state()

    async def mute(self, alarm_id: int, by: str, seconds: float) -> None:
        await self._alarm_op(alarm_id, lambda now: self.alarms.mute(alarm_id, by, now, seconds))

    async def _alarm_op(self, alarm_id: int, op: Callable[[Now], list[Any]]) -> None:
        assert self.journal is not None and self.executor is not None
        async with self._lock:
            now = self.now()
            space = next((a.key.space for a in self.alarms.open_alarms() if a.id == alarm_id), None)
            events = op(now)  # raises AlarmError before anything is recorded
            if space is None:
                return
            runner = self.spaces[space]
            actions = [RecordAlarm(e) for e in events] + runner.session.handle(Tick(), now)
            await self.executor.execute(runner, actions, now)

    async def acknowledge_space(self, space: str, by: str) -> list[str]:
        """Acknowledge every open alarm of ``space`` that may be; returns why the others were refused."""
        refused = []
        for alarm in [a for a in self.alarms.open_alarms() if a.key.space == space and not a.acknowledged]:
            try:
                await self.acknowledge(alarm.id, by)
            except AlarmError as exc:
                refused.append(str(exc))
        return refused

    async def _on_input(self, module: OutputModuleLink, name: str) -> None:
        """A local input of an output module: the acknowledge button acknowledges its spaces' alarms."""
        channel = module.profile.inputs[name]
        if channel.kind != "acknowledge":
            return
        for space in [s.id for s in self.config.spaces if s.output_module == module.id]:
            refused = await self.acknowledge_space(space, "local_input")
            for reason in refused:
                if self.announce is not None:
                    self.announce(space, "notice", f"acknowledge refused: {reason}")

    async def submit_command(self, data: bytes) -> str:
        """A signed cloud command that came another way than the uplink (console, relay): same gate, same
        handlers. Returns "applied" or the code it was refused or failed with."""
        from edge.downlink import CommandRejected

        if self.downlink is not None:
            return str(await self.downlink.handle(data))
        if self.gate is None:
            return "no_cloud_keys"
        try:
            command = await self.gate.accept(data, DOWN_CHANNEL)
        except CommandRejected as exc:
            return exc.code
        handler = self.commands.handlers().get(command.kind)
        result = "unsupported"
        if handler is not None:
            try:
                await handler(command)
                result = "applied"
            except EdgeError as exc:
                result = exc.code
        await self._report_command(command.counter, command.kind, result)
        return result

    async def _report_command(self, counter: int, kind: str, result: str) -> None:
        assert self.journal is not None
        await self.journal.write([records.event("command_result", counter=counter, kind=kind, result=result)],
                                 self.now().wall * 1000)

    # -- views ----------------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "gateway": self.gateway,
            "clock_trusted": self.clock_keeper.trusted_ms() is not None,
            "outbox": {"last_seq": self.outbox.last_seq if self.outbox else None,
                       "pending": self.outbox.count if self.outbox else None},
            "spaces": {sid: {"phase": r.session.phase.value, "session_id": r.session_id,
                             "possibly_occupied": r.session.unknown_past,
                             "entrants": sorted(r.session.entrants), "deadline": r.session.deadline,
                             "permit": r.session.permit.permit_id if r.session.permit else None}
                       for sid, r in self.spaces.items()},
            "padlocks": self.radio.status() if self.radio is not None else {},
            "alarms": [{"id": a.id, "kind": a.key.kind.value, "space": a.key.space, "subject": a.key.subject,
                        "active": a.active, "acknowledged_by": a.acknowledged_by, "reason": a.reason}
                       for a in self.alarms.open_alarms()],
            "time": time.time(),
        }
