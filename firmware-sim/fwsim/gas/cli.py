"""``safegrid-sim gas`` and ``safegrid-sim scenario list|show``: run simulated detectors, browse scenarios."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from datetime import date
from pathlib import Path

import structlog

from fwsim.gas.bus import GasSimulator, RtuPort, TcpListen
from fwsim.gas.clock import ScaledClock
from fwsim.gas.scenario import Scenario, load_scenario, packaged_scenarios, parse_scenario, scenario_text
from safegrid.config import ConfigError

log = structlog.get_logger("fwsim.gas")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``gas`` and ``scenario`` to ``safegrid-sim``'s subcommands."""
    gas = sub.add_parser("gas", help="serve simulated gas detectors and an output module (Modbus RTU or TCP)",
                         description="Serve simulated gas detectors playing a scenario, and an alarm output module, "
                                     "on one Modbus RTU line or a Modbus TCP port, until interrupted.")
    where = gas.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port for Modbus RTU, e.g. /dev/ttyUSB0 or one end of a pty pair")
    where.add_argument("--tcp", metavar="HOST:PORT", help="listen for Modbus TCP (port 0: any free port)")
    gas.add_argument("--units", default="1", help="detector unit ids, comma-separated (default 1)")
    gas.add_argument("--output-units", default="10", help="output module unit ids, comma-separated (default 10)")
    gas.add_argument("--no-output-module", action="store_true", help="simulate no output module")
    what = gas.add_mutually_exclusive_group()
    what.add_argument("--scenario", default="clean_air", help="packaged scenario (default clean_air; see "
                                                              "`safegrid-sim scenario list`)")
    what.add_argument("--scenario-file", type=Path, help="a scenario TOML file of your own")
    gas.add_argument("--speed", type=float, default=1.0, help="scenario seconds per real second (default 1)")
    gas.add_argument("--seed", type=int, help="noise seed (default: the scenario's)")
    gas.add_argument("--baudrate", type=int, default=9600, help="RTU baud rate (default 9600)")
    gas.add_argument("--parity", choices=("N", "E", "O"), default="N", help="RTU parity (default N)")
    gas.add_argument("--stopbits", type=int, choices=(1, 2), default=1, help="RTU stop bits (default 1)")
    gas.add_argument("--line-speed", action="store_true",
                     help="hold each RTU reply for its wire time at the baud rate (realistic timing on a pty)")
    gas.add_argument("--status-every", type=float, default=10.0, metavar="S",
                     help="log what the detectors show every S real seconds (default 10; 0: never)")
    gas.add_argument("--run-for", type=float, metavar="S", help="stop after S real seconds (default: run until "
                                                                "interrupted)")
    gas.set_defaults(handler=run_gas)

    scenario = sub.add_parser("scenario", help="list or show the packaged gas scenarios",
                              description="Browse the gas scenarios shipped with the simulators.")
    actions = scenario.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="name and description of every packaged scenario").set_defaults(
        handler=run_scenario_list)
    show = actions.add_parser("show", help="what a scenario does, unit by unit")
    show.add_argument("name", help="scenario name, e.g. h2s_spike")
    show.add_argument("--toml", action="store_true", help="print the scenario file itself")
    show.set_defaults(handler=run_scenario_show)


def _ids(text: str, option: str) -> list[int]:
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"{option}: comma-separated unit ids, not {text!r}") from None
    if any(not 1 <= i <= 247 for i in ids):
        raise SystemExit(f"{option}: unit ids are 1..247")
    return ids


def run_scenario_list(_args: argparse.Namespace) -> int:
    names = packaged_scenarios()
    width = max(len(n) for n in names)
    for name in names:
        print(f"{name:<{width}}  {load_scenario(name).scenario.description}")
    return 0


def run_scenario_show(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.name)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.toml:
        print(scenario_text(args.name), end="")
        return 0
    print(describe(scenario))
    return 0


def describe(scenario: Scenario) -> str:
    """A readable summary of a scenario: series, states, faults and checks."""
    meta = scenario.scenario
    lines = [f"{meta.name}: {meta.description}",
             f"  profile {meta.profile}, {meta.duration_s:g} s, seed {meta.seed}"]
    scripts = [("every unit", scenario.all_units), *((f"unit {u}", s) for u, s in sorted(scenario.units.items()))]
    for label, script in scripts:
        parts = [f"{gas} {series.interpolation} " + " → ".join(f"{v:g}@{t:g}s" for t, v in series.points)
                 for gas, series in script.gases.items()]
        parts += [f"{gas} sensor T90 {t90:g} s" for gas, t90 in script.t90_s.items()]
        parts += [f"{gas} noise σ {sigma:g}" for gas, sigma in script.noise.items()]
        parts += [f"{s.gas or 'device'} {s.status} {s.start_s:g}–{'end' if s.end_s is None else f'{s.end_s:g}'} s"
                  for s in script.states]
        parts += [f"{f.kind}{f' {f.delay_s:g} s' if f.delay_s else ''} {f.start_s:g}–"
                  f"{'end' if f.end_s is None else f'{f.end_s:g}'} s" for f in script.faults]
        if script.maintenance is not None:
            parts.append(f"calibrated {script.maintenance.calibrated_days_ago} days ago, bump-tested "
                         f"{script.maintenance.bump_tested_days_ago} days ago")
        if parts:
            lines.append(f"  {label}:")
            lines += [f"    {p}" for p in parts]
    if scenario.checks:
        lines.append("  checks:")
        for c in scenario.checks_in_order():
            expect = "no reply" if c.reply == "none" else ", ".join(
                f"{k}={v}" for k, v in (("value", c.value), ("status", c.status), ("alarm1", c.alarm1),
                                       ("alarm2", c.alarm2), ("calibration_due", c.calibration_due))
                if v is not None)
            lines.append(f"    {c.at_s:g} s unit {c.unit}{f' {c.gas}' if c.gas else ''}: {expect}")
    return "\n".join(lines)


def run_gas(args: argparse.Namespace) -> int:
    try:
        if args.scenario_file is not None:
            scenario = parse_scenario(args.scenario_file.read_text(encoding="utf-8"), origin=str(args.scenario_file))
        else:
            scenario = load_scenario(args.scenario)
    except (ConfigError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 2
    if not args.speed > 0:
        print("--speed must be > 0", file=sys.stderr)
        return 2
    link: RtuPort | TcpListen
    if args.port:
        link = RtuPort(args.port, baudrate=args.baudrate, parity=args.parity, stopbits=args.stopbits,
                       line_speed=args.line_speed)
    else:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            print(f"--tcp: HOST:PORT, not {args.tcp!r}", file=sys.stderr)
            return 2
        link = TcpListen(host, int(port))
    outputs = [] if args.no_output_module else _ids(args.output_units, "--output-units")
    sim = GasSimulator(scenario, units=_ids(args.units, "--units"), output_units=outputs,
                       clock=ScaledClock(args.speed), start_date=date.today(), seed=args.seed)
    asyncio.run(_serve(sim, link, status_every=args.status_every, run_for=args.run_for))
    return 0


async def _serve(sim: GasSimulator, link: RtuPort | TcpListen, *, status_every: float, run_for: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with sim:
        await sim.serve(link)
        where = (f"{link.port} at {link.baudrate} baud" if isinstance(link, RtuPort)
                 else "{}:{}".format(*sim.tcp_address))
        log.info("gas simulator serving", link=where, scenario=sim.engine.scenario.name, units=list(sim.units),
                 output_units=list(sim.output_units), speed=getattr(sim.clock, "speed", 1.0),
                 line_speed=isinstance(link, RtuPort) and link.line_speed)
        deadline = None if run_for is None else loop.time() + run_for
        while not stop.is_set():
            wait = status_every if status_every > 0 else None
            if deadline is not None:
                wait = max(0.0, deadline - loop.time()) if wait is None else min(wait, max(0.0, deadline - loop.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
            if deadline is not None and loop.time() >= deadline:
                break
            if status_every > 0 and not stop.is_set():
                _log_status(sim)
    log.info("gas simulator stopped", **vars(sim.stats))


def _log_status(sim: GasSimulator) -> None:
    sim.sync()
    for unit in sim.units:
        snapshot = sim.engine.snapshot(unit)
        fault = sim.engine.fault(unit)
        readings = {r.gas: (r.value if r.status == "ok" else f"{r.value} {r.status}") for r in snapshot.readings}
        log.info("detector", unit=unit, t=round(sim.engine.now, 1), fault=fault.kind if fault else None, **readings)
    for unit in sim.output_units:
        module = sim.output_module(unit)
        log.info("output module", unit=unit, on=[n for n, on in module.coils.items() if on],
                 pressed=[n for n, on in module.inputs.items() if on])
