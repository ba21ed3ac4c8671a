"""The gateway daemon: wires drivers, the safety core, the journal and the cloud link, and runs them as owned tasks.

Every input — a poll, a padlock event, a cloud command, an attendant's input, a storage fault, the clock — is one
*step* of :class:`~edge.daemon.steps.StepEngine`: under one lock the space's session handles it with the time
passed in, and :class:`~edge.daemon.actions.ActionExecutor` carries out the result — local outputs (siren,
beacon, fan, announcements) first, then the records, the persisted state, padlock pushes and the ledger.
Acknowledging and muting go through :class:`~edge.daemon.desk.AlarmDesk`; every signed cloud command, from the
uplink or relayed through the console, through one :class:`~edge.downlink.CommandDispatcher`.

A failing disk (full, I/O error, read-only, a corrupt database) never stops the safety loop: records wait in
memory (bounded, see ``edge.outbox``), the ``storage`` health component goes critical (``/healthz`` 503), and a
``gateway_fault`` alarm is raised in every space — beacon and the pulsed gateway-fault siren (continuous while a gas
or people alarm is active: :meth:`~edge.core.alarms.AlarmSet.siren_pattern`), an attendant announcement, and the alarm's
record reaches the cloud once storage and the link allow. When storage recovers the held records are written
in order and the alarm clears (latched until a person acknowledges it).

A state file that cannot be read at start never keeps the daemon down: it is moved aside and started afresh,
the unknown past treated as unsafe (:mod:`edge.daemon.recovery`).

On start the persisted state is restored — latched alarms, sessions and their deadlines, padlock pushes held
for a session to close; a deadline missed while the daemon was down fires at once. Essential tasks run
supervised (:class:`~edge.tasks.Supervised`: restarted with back-off, a task that keeps dying withholds the
watchdog): one poller per detector, one per output module, ``core-tick`` (timers, staleness, mutes),
``storage-watch``, ``ledger-summary``, the uplink sender; the console, the downlink and the systemd watchdog run
beside them. ``READY=1`` goes to systemd once all of them run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from edge.clocktrust import ClockKeeper
from edge.config import EdgeConfig, trusted_keys
from edge.core.alarms import AlarmKey, AlarmKind, AlarmSet
from edge.core.clock import Now
from edge.core.gas_alarms import held_gas_levels
from edge.core.session_io import (
    EntrantIn,
    EntrantOut,
    EntryConfirmed,
    Notify,
    PadlockPushRequested,
    RecordAlarm,
    SessionInput,
    SpaceConfirmedEmpty,
    Tick,
)
from edge.daemon import records
from edge.daemon.actions import ActionExecutor, Announce
from edge.daemon.commands import CloudCommands
from edge.daemon.desk import AlarmDesk
from edge.daemon.detectors import DetectorLink
from edge.daemon.journal import Journal
from edge.daemon.keyfile import load_gateway_key
from edge.daemon.outputs import OutputModuleLink
from edge.daemon.padlocks import AuditIntake, HeldPushes, PushPort, session_inputs
from edge.daemon.recovery import Recovery
from edge.daemon.spaces import SpaceRunner, restore_exposure, save_exposure
from edge.daemon.state import StateFile
from edge.daemon.steps import Decision, StepEngine
from edge.drivers.modbus import ModbusBus, SerialLine, TcpEndpoint
from edge.drivers.modbus.poller import PollResult
from edge.ledger import Ledger
from edge.ops import Health, Notifier, OpsServer, Registry, WatchdogPinger, watchdog_interval
from edge.outbox import Outbox
from edge.tasks import Supervised
from protocols.commands import DOWN_CHANNEL, TimeSet
from protocols.gasprofile import DetectorProfile, DetectorSnapshot, OutputModuleProfile, load_profile
from protocols.uplink.fields import b64url_decode, b64url_encode
from safegrid import __version__

log = structlog.get_logger(__name__)

RecordHook = Callable[[int, str, dict[str, Any]], None]

STORAGE_SUBJECT = "storage"
STORAGE_CHECK_S = 1.0  # while a store is faulty: how often held records are tried again


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
        # Revocation and trust lists held for the padlocks (persisted in the state file: a push deferred until a
        # session closes must survive a restart). Keyed by a string, so a scope can join the key later.
        self.held_blobs: dict[str, bytes] = {}
        self.spaces: dict[str, SpaceRunner] = {}
        self.detectors: dict[str, DetectorLink] = {}
        self.output_modules: dict[str, OutputModuleLink] = {}
        self.audit = AuditIntake(config.padlocks)
        self.alarms = AlarmSet()
        self.commands = CloudCommands(self)
        self._buses: list[ModbusBus] = []
        self._tasks: dict[str, Supervised] = {}
        self._started = False
        self._warned: dict[str, frozenset[str]] = {}
        self.store_faults: dict[str, str] = {}  # store ("outbox", "ledger", "state") → what is wrong with it
        self._storage_wake: asyncio.Event | None = None
        self.outbox: Outbox | None = None
        self.ledger: Ledger | None = None
        self.journal: Journal | None = None
        self.executor: ActionExecutor | None = None
        self.engine: StepEngine | None = None
        self._desk: AlarmDesk | None = None
        self.state = StateFile(self.state_dir / "state.json")
        self.recovery = Recovery(self.state_dir)
        self.exposure_file = self.state_dir / "exposure.json"  # STEL/TWA windows: see spaces.save_exposure
        self.gate: Any = None
        self.dispatcher: Any = None  # edge.downlink.CommandDispatcher, once the cloud's keys are configured
        self._counters: Any = None
        self.uplink: Any = None
        self.sender: Any = None
        self.downlink: Any = None
        self.console: Any = None
        self.ops: OpsServer | None = None
        self.pinger: WatchdogPinger | None = None
        self.radio: Any = None  # edge.daemon.ble.PadlockRadio, when a padlock has a radio backend
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
        self.health.register("storage", critical=True, watchdog=False)  # see edge.ops.health: a restart frees no disk
        self.health.report("storage", True, "ok")
        self._storage_wake = asyncio.Event()
        self.journal = Journal(self.outbox, self.ledger, on_stored=self._records_stored, on_record=self._on_record,
                               on_fault=self._store_fault)
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
        self.engine = StepEngine(self.spaces, self.executor, self.now)
        self._desk = AlarmDesk(self.alarms, self.engine, self.announce)
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
            self._supervise(f"outputs-{module.id}", module.run)
        for detector in self.detectors.values():
            self._supervise(f"poller-{detector.id}", detector.poller.run)
        if self.radio is not None:
            await self.radio.start()
        self._supervise("core-tick", self._tick_loop)
        self._supervise("storage-watch", self._storage_loop)
        self._supervise("ledger-summary", self._ledger_loop)
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

    def _supervise(self, name: str, factory: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run ``factory()`` as an essential task: restarted whenever it dies, critical health when it keeps dying."""
        self.health.register(f"task:{name}", critical=True)
        task = Supervised(name, factory,
                          report=lambda n, ok, detail: self.health.report(f"task:{n}", ok, detail))
        self._tasks[name] = task
        task.start()

    def _restore(self, saved: dict[str, Any] | None, now: Now) -> dict[str, list[Any]]:
        """Latched alarms, sessions, chain cursors and held pushes from the state file; the actions restoring them
        caused."""
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
        for what, blob in saved.get("held_pushes", {}).items():
            self.held_blobs[str(what)] = b64url_decode(blob, field="held_pushes")
        # Older versions held a remote acknowledgement of a level-2 gas alarm and applied it when the gas cleared;
        # such an acknowledgement is no longer applied without a person: dropped, the alarm stays latched.
        for alarm_id, by in saved.get("held_acks", {}).items():
            log.warning("held acknowledgement dropped", alarm_id=alarm_id, by=by,
                        reason="a level-2 gas alarm is acknowledged by a person once the gas is back in range")
        return out

    async def _startup_records(self, now: Now, restored: bool, actions: dict[str, list[Any]]) -> None:
        opened = [r.id for r in self.spaces.values() if r.session.is_open]
        started = [records.event("gateway_started", software=f"safegrid-edge {__version__}", restored=restored,
                                 open_sessions=opened), *self.recovery.records()]
        for space in self.spaces:
            def decide(runner: SpaceRunner, now: Now, own: list[Any] = started) -> Decision:
                # The restored actions, and the outputs driven to a known state at once.
                return own, [*actions.get(runner.id, []), *runner.session.handle(runner.gas_update(now), now)]

            await self._step(space, decide)
            started = []
        self._save_state()

    async def _start_cloud(self) -> None:
        cfg = self.config
        if cfg.cloud is None:
            return
        from edge.downlink import CommandDispatcher, CommandGate, CounterStore

        if self._counters is None:  # opened (and recovered if need be) with the other stores
            self._counters = await CounterStore.open(self.state_dir / "counters.db")
        self.gate = CommandGate(self._counters, trusted_keys(cfg.cloud.command_keys), gateway=self.gateway,
                                clock_ms=self.clock_keeper.trusted_ms,
                                on_expired_time=self.clock_keeper.takes_expired_time)
        self.dispatcher = CommandDispatcher(self.gate, report=self._report_command)
        for kind, handler in self.commands.handlers().items():
            self.dispatcher.register(kind, handler)
        if cfg.uplink is None:
            return
        from edge.downlink import Downlink
        from edge.uplink import Sender, open_uplink

        assert self.outbox is not None
        self.uplink = open_uplink(cfg.uplink, gateway=self.gateway, epoch=cfg.gateway.epoch,
                                  verify_ack=self.gate.verify_ack,
                                  last_down_counter=lambda: self._counters.last(DOWN_CHANNEL),
                                  software=f"safegrid-edge {__version__}",
                                  clock_trusted=lambda: not self.clock_keeper.wants_time(),
                                  time_request=self.clock_keeper.time_request)
        await self.uplink.start()
        self.sender = Sender(self.outbox, self.uplink, cfg.uplink.batch)
        self._supervise("uplink-sender", self.sender.run)
        self.downlink = Downlink(self.uplink, dispatcher=self.dispatcher)
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
        """Stop every task, save the state, close the stores. Safe to call twice, and bounded even when the disk
        fails: every part is stopped whatever the one before it did (an unclosed database would keep the process
        from exiting)."""
        async def quietly(what: str, step: Awaitable[Any]) -> None:
            try:
                await step
            except Exception:
                log.exception("stop step failed", step=what)

        self.notifier.stopping("stopping")
        if self.pinger is not None:
            await quietly("watchdog", self.pinger.stop())
        if self.radio is not None:  # first: its watchers hand entries to the journal
            await quietly("radio", self.radio.stop())
            self.pushes, self.radio = self.radio.fallback, None
        for closer in (self.console, self.ops):
            if closer is not None:
                await quietly("console/ops", closer.close())
        self.console = self.ops = None
        if self.downlink is not None:
            await quietly("downlink", self.downlink.stop())
        for name, task in self._tasks.items():
            await quietly(name, task.stop())
        self._tasks = {}
        if self.sender is not None:
            self.sender.rewind()
        if self.uplink is not None:
            await quietly("uplink", self.uplink.close())
        self.downlink = self.sender = self.uplink = None
        await quietly("clock", self.clock_keeper.stop())
        for bus in self._buses:
            await quietly(f"bus {bus.name}", bus.close())
        self._buses = []
        if self._started:
            self._save_state()
            save_exposure(self.exposure_file, self.spaces, self.now())
        if self.journal is not None:
            await quietly("ledger backlog", self.journal.retry())
        if self.outbox is not None:
            await quietly("outbox", self.outbox.close())
        if self.journal is not None:
            await quietly("ledger backlog", self.journal.retry())  # entries whose records the close committed
            if self.journal.backlog:
                log.error("ledger entries lost on stop", count=len(self.journal.backlog))
        if self.ledger is not None:
            await quietly("ledger", self.ledger.close())
        if self._counters is not None:
            await quietly("counters", self._counters.close())
        self.outbox = self.ledger = self._counters = None
        self._started = False
        log.info("gateway stopped", gateway=self.gateway)

    async def run(self, stop: asyncio.Event) -> int:
        """Run until ``stop`` is set (0). A task that keeps dying withholds the watchdog (systemd restarts us)."""
        await stop.wait()
        broken = [name for name, task in self._tasks.items() if task.broken]
        if broken:
            log.error("stopping with broken tasks", tasks=broken)
        return 1 if broken else 0

    # -- state ----------------------------------------------------------------------------------------------

    def _save_state(self) -> None:
        """The state file; a failure is a storage fault (the step goes on: outputs and records do not wait)."""
        try:
            self.state.save({"alarms": self.alarms.snapshot(),
                             "spaces": {sid: r.snapshot() for sid, r in self.spaces.items()},
                             "locks": self.audit.cursors(),
                             "held_pushes": {what: b64url_encode(blob) for what, blob in self.held_blobs.items()}})
        except Exception as exc:
            self._store_fault("state", f"{type(exc).__name__}: {exc}")
            return
        if "state" in self.store_faults:
            self._store_fault("state", None)

    def _store_fault(self, store: str, fault: str | None) -> None:
        """A store became faulty (``fault`` says how) or recovered (None): health now, the alarm in a step."""
        changed = (fault is None) == (store in self.store_faults)
        if fault is None:
            self.store_faults.pop(store, None)
        else:
            if changed:
                log.error("storage fault", store=store, error=fault)
            self.store_faults[store] = fault
        detail = "; ".join(f"{k}: {v}" for k, v in sorted(self.store_faults.items()))
        self.health.report("storage", not self.store_faults, detail or "ok")
        if changed and self._storage_wake is not None:  # the same fault again is retried on the check interval
            self._storage_wake.set()

    def _records_stored(self) -> None:
        if self.sender is not None:
            self.sender.notify()

    def _on_record(self, seq: int, kind: str, body: dict[str, Any]) -> None:
        self._records_total.inc(kind=kind)
        if self.on_record is not None:
            self.on_record(seq, kind, body)

    # -- steps ------------------------------------------------------------------------------------------------

    async def _step(self, space: str, decide: Callable[[SpaceRunner, Now], Decision]) -> None:
        assert self.engine is not None
        await self.engine.step(space, decide)

    async def step(self, space: str, inputs: Sequence[SessionInput], *,
                   record: Sequence[records.Record] = ()) -> None:
        """Handle ``inputs`` in ``space``'s session; ``record`` are the input's own records (stored first)."""
        assert self.engine is not None
        await self.engine.inputs(space, inputs, record)

    def has_space(self, space: str) -> bool:
        return space in self.spaces

    @property
    def desk(self) -> AlarmDesk:
        assert self._desk is not None, "the daemon is not started"
        return self._desk

    async def _on_poll(self, link: DetectorLink, result: PollResult[DetectorSnapshot]) -> None:
        self._polls_total.inc(detector=link.id, outcome="ok" if result.value is not None else "failed")
        self.health.report(f"detector:{link.id}", *link.condition(result))

        def decide(runner: SpaceRunner, now: Now) -> Decision:
            own: list[records.Record] = []
            if result.value is not None:
                own.append(records.telemetry(link.space, link.id, result.value))
            own += link.condition_events(result)  # comm-fault, heartbeat frozen, fault, recovered: once each
            own += self._setpoint_warnings(link, runner)
            runner.observe(link.readings(result, now.mono))
            return own, runner.session.handle(runner.gas_update(now), now)

        try:
            await self._step(link.space, decide)
        except Exception:  # a bug in one poll's handling must not end the poller: the next poll tries again
            log.exception("poll handling failed", detector=link.id)

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
        assert self.engine is not None
        while True:
            for space in list(self.spaces):
                await self.engine.evaluate(space)
            self.health.report("core", True, "ticking")
            await asyncio.sleep(interval)

    async def _storage_loop(self) -> None:
        """Raise or clear the ``gateway_fault`` alarm as the stores fail or recover, and retry what is held."""
        assert self._storage_wake is not None and self.journal is not None
        raised: str | None = None  # the reason the alarm's condition was last set with
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._storage_wake.wait(), STORAGE_CHECK_S)
            self._storage_wake.clear()
            if self.journal.backlog or "ledger" in self.store_faults:
                await self.journal.retry()
            if "state" in self.store_faults:
                self._save_state()
            reason = "; ".join(f"{k}: {v}" for k, v in sorted(self.store_faults.items())) or None
            if (reason is None) != (raised is None):
                for space in list(self.spaces):
                    await self._step(space, self._storage_decision(reason))
                raised = reason

    @staticmethod
    def _storage_decision(reason: str | None) -> Callable[[SpaceRunner, Now], Decision]:
        def decide(runner: SpaceRunner, now: Now) -> Decision:
            key = AlarmKey(AlarmKind.GATEWAY_FAULT, runner.id, STORAGE_SUBJECT)
            why = f"网关存储故障 / gateway storage fault: {reason}" if reason else "storage recovered"
            events = runner.session.alarms.set_condition(key, reason is not None, records.text(why), now)
            actions: list[Any] = [RecordAlarm(e) for e in events]
            if reason is not None and events:
                actions.append(Notify(runner.id, "网关存储故障：记录暂存内存，监测与报警照常 / gateway storage fault: "
                                                 "records held in memory, monitoring and alarms go on"))
            return [], actions + runner.session.handle(Tick(), now)
        return decide

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
        """Acknowledge a latched alarm (the desk's rules); AlarmError with its code when refused."""
        await self.desk.acknowledge(alarm_id, by)

    async def mute(self, alarm_id: int, by: str, seconds: float) -> None:
        await self.desk.mute(alarm_id, by, seconds)

    async def acknowledge_space(self, space: str, by: str) -> list[str]:
        return await self.desk.acknowledge_space(space, by)

    async def _on_input(self, module: OutputModuleLink, name: str) -> None:
        """A local input of an output module: the acknowledge button acknowledges its spaces' alarms."""
        channel = module.profile.inputs[name]
        if channel.kind != "acknowledge":
            return
        for space in [s.id for s in self.config.spaces if s.output_module == module.id]:
            await self.desk.button(space)

    def take_time(self, command: TimeSet) -> None:
        self.clock_keeper.take_time(command)  # bounded by the echoed request's round trip, or the lifetime

    def padlock_ids(self) -> list[str]:
        return [lock.id for lock in self.config.padlocks]

    async def hold_push(self, blob: bytes, keys: Mapping[str, str]) -> None:
        """Keep a revocation or trust list (persisted) under ``keys`` (padlock id → held-push key) and ask each of
        those padlocks' sessions to send it."""
        for what in set(keys.values()):
            self.held_blobs[what] = blob
        self._save_state()
        for lock in self.config.padlocks:
            if lock.id in keys:
                await self.step(lock.space, [PadlockPushRequested(lock.id, keys[lock.id])])

    async def submit_command(self, data: bytes) -> str:
        """A signed cloud command that came another way than the uplink (console, relay): the same dispatcher.
        Returns "applied" or the code it was refused or failed with."""
        if self.dispatcher is None:
            return "no_cloud_keys"
        return str(await self.dispatcher.handle(data))

    async def _report_command(self, counter: int, kind: str, result: str, verified: bool = True) -> None:
        from edge.downlink import result_body

        assert self.journal is not None
        await self.journal.write([records.event("command_result", **result_body(counter, kind, result, verified))],
                                 self.now().wall * 1000)

    # -- views ----------------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "gateway": self.gateway,
            "clock_trusted": self.clock_keeper.trusted_ms() is not None,
            "outbox": {"last_seq": self.outbox.last_seq if self.outbox else None,
                       "pending": self.outbox.count if self.outbox else None,
                       "held_in_memory": self.outbox.queued if self.outbox else None},
            "storage": dict(self.store_faults),
            "detectors": {did: {"polls": d.poller.cycles, "comm_fault": d.comm_fault}
                          for did, d in self.detectors.items()},
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
