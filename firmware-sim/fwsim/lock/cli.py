"""``safegrid-sim radio`` (a virtual radio for separate processes) and ``safegrid-sim lock`` (a padlock on it)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path

import structlog

from fwsim.lock.console import run_command
from fwsim.lock.faults import LinkFaults
from fwsim.lock.peripheral import DEFAULT_ADVERTISING_INTERVAL_MS, PadlockPeripheral
from fwsim.lock.radio import VirtualRadio, hci_device, pick_free_ports
from fwsim.lock.store import LockStore

log = structlog.get_logger("fwsim.lock")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``radio`` and ``lock`` to ``safegrid-sim``'s subcommands."""
    radio = sub.add_parser("radio", help="run a virtual BLE radio: linked controllers on loopback TCP",
                           description="Start linked bumble virtual controllers, each behind a TCP HCI transport, "
                                       "print one `tcp-client:HOST:PORT` spec per line (one per process to attach: "
                                       "`safegrid-sim lock --hci SPEC`, `safegrid-sim phone unlock --hci SPEC`, the "
                                       "edge daemon) and serve until interrupted.")
    radio.add_argument("--controllers", type=int, default=3, help="how many controllers (default 3, at least 2)")
    radio.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    radio.add_argument("--ports", help="comma-separated TCP ports, one per controller (default: free ports)")
    radio.add_argument("--run-for", type=float, metavar="S", help="stop after S seconds (default: until interrupted)")
    radio.set_defaults(handler=run_radio)

    lock = sub.add_parser("lock", help="run a simulated BLE padlock on an HCI transport (e.g. the virtual radio)",
                          description="Run a SafeGrid padlock as a BLE GATT peripheral. Its state (key, lock id, "
                                      "audit log, trust, counters) lives in --state; a new file is a factory-new lock "
                                      "in provisioning mode. Console commands on stdin drive the physical acts and "
                                      "faults (type `help`).")
    lock.add_argument("--hci", required=True, metavar="SPEC", help="HCI transport, e.g. tcp-client:127.0.0.1:PORT "
                                                                    "from `safegrid-sim radio`")
    lock.add_argument("--state", required=True, type=Path, metavar="FILE", help="the lock's state file (0600)")
    lock.add_argument("--name", default="SafeGrid padlock", help="the BLE device name")
    lock.add_argument("--advertising-interval-ms", type=float, default=DEFAULT_ADVERTISING_INTERVAL_MS,
                      help=f"advertising interval (default {DEFAULT_ADVERTISING_INTERVAL_MS:g} ms)")
    faults = lock.add_argument_group("faults and physical state at start")
    faults.add_argument("--provisioning", action="store_true", help="enter provisioning mode (the technician's "
                                                                   "button)")
    faults.add_argument("--battery", type=int, metavar="PCT", help="battery level 0..100 (below 20: low battery)")
    faults.add_argument("--drift-ppm", type=float, metavar="PPM", help="the RTC runs PPM parts per million fast")
    faults.add_argument("--slow", type=float, default=0.0, metavar="S", help="answer each request S seconds late")
    faults.add_argument("--drop-mid-request", type=int, default=0, metavar="N",
                        help="cut the link mid-message on the next N multi-fragment requests")
    faults.add_argument("--drop-mid-response", type=int, default=0, metavar="N",
                        help="cut the link mid-message on the next N multi-fragment responses")
    faults.add_argument("--forced-open", action="store_true", help="the shackle is forced open at start")
    faults.add_argument("--mechanical-key", action="store_true", help="opened with the override key at start")
    faults.add_argument("--power-cycle-every", type=float, metavar="S", help="cut the power every S seconds")
    lock.add_argument("--no-console", action="store_true", help="do not read commands from stdin")
    lock.add_argument("--run-for", type=float, metavar="S", help="stop after S seconds (default: until interrupted)")
    lock.set_defaults(handler=run_lock)


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _wait(stop: asyncio.Event, run_for: float | None) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), run_for)


def run_radio(args: argparse.Namespace) -> int:
    if args.ports:
        try:
            ports = [int(p) for p in args.ports.split(",")]
        except ValueError:
            print(f"--ports: comma-separated port numbers, not {args.ports!r}", file=sys.stderr)
            return 2
    else:
        ports = pick_free_ports(args.host, args.controllers)
    if len(ports) < 2:
        print("a radio needs at least two controllers", file=sys.stderr)
        return 2

    async def serve() -> None:
        stop = _stop_event()
        async with VirtualRadio(args.host, ports) as radio:
            for spec in radio.specs:
                print(spec, flush=True)
            log.info("virtual radio ready", transports=radio.specs)
            await _wait(stop, args.run_for)
        log.info("virtual radio stopped")

    asyncio.run(serve())
    return 0


def run_lock(args: argparse.Namespace) -> int:
    if args.battery is not None and not 0 <= args.battery <= 100:
        print("--battery: 0..100", file=sys.stderr)
        return 2
    try:
        faults = LinkFaults(response_delay_s=args.slow, drop_mid_request=args.drop_mid_request,
                            drop_mid_response=args.drop_mid_response)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve_lock(args, faults))
    except ValueError as exc:  # an unreadable state file
        print(exc, file=sys.stderr)
        return 2


async def _serve_lock(args: argparse.Namespace, faults: LinkFaults) -> int:
    stop = _stop_event()
    store = LockStore(args.state)
    core = store.load_or_create(time.time())
    async with hci_device(args.hci, args.name) as device:
        lock = PadlockPeripheral(device, core, store=store, faults=faults,
                                 advertising_interval_ms=args.advertising_interval_ms)
        await lock.start()
        tasks = [asyncio.create_task(_console(lock))] if not args.no_console else []
        if args.power_cycle_every:
            tasks.append(asyncio.create_task(_power_cycles(lock, args.power_cycle_every)))
        try:
            await _initial_state(lock, args)
            await _wait(stop, args.run_for)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await lock.stop()
    log.info("padlock stopped", lock_id=lock.core.lock_id.hex(), event_seq=lock.core.log.last_seq)
    return 0


async def _initial_state(lock: PadlockPeripheral, args: argparse.Namespace) -> None:
    if args.provisioning:
        await lock.enter_provisioning_mode()
    if args.battery is not None:
        await lock.set_battery(args.battery)
    if args.drift_ppm is not None:
        await lock.set_drift(args.drift_ppm)
    if args.forced_open:
        await lock.force_open()
    if args.mechanical_key:
        await lock.mechanical_key_open()


async def _console(lock: PadlockPeripheral) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except (ValueError, OSError):  # stdin is a regular file or closed: no console
        return
    try:
        while line := (await reader.readline()).decode(errors="replace"):
            try:
                out = await run_command(lock, line)
            except ValueError as exc:
                out = f"error: {exc}"
            if out:
                print(out, flush=True)
    finally:
        transport.close()


async def _power_cycles(lock: PadlockPeripheral, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        log.info("fault: power cycle")
        await lock.power_cycle()
