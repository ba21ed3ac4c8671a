"""Edge daemon benchmark: figures printed beside the raw limit measured in the same run; nothing is asserted.

1. readings/s through decode → evaluate → outbox on one core (the daemon's own step: decode the registers,
   readings into the gas monitor, the session handles the gas state, telemetry and decisions numbered in the
   outbox, committed in groups) beside raw SQLite inserts/s of the same rows. A reading is one gas value (one
   ``GasReading`` of a ``DetectorSnapshot``; the cloud's ingest figures count the same unit); a four-gas
   detector's poll yields four, so polls/s is printed too;
2. durable outbox appends/s with group commit (many concurrent writers) beside raw fsyncs/s of this disk;
3. RSS of a running daemon process with 10 detectors and 4 padlocks (simulated detectors on a pty);
4. alarm latency from a register change to the alarm in the outbox and to the siren coil, p50/p99.

Run with ``scripts/bench edge [--seconds S] [--spikes N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.clocktrust import ClockKeeper
from edge.config import load_edge_config
from edge.core.alarms import AlarmSet
from edge.daemon import Daemon, records
from edge.daemon.actions import ActionExecutor
from edge.daemon.detectors import DetectorLink
from edge.daemon.journal import Journal, Staged
from edge.daemon.padlocks import HeldPushes
from edge.daemon.spaces import SpaceRunner
from edge.drivers.modbus import ModbusBus, SerialLine
from edge.drivers.modbus.poller import PollResult
from edge.ledger import Ledger
from edge.outbox import Outbox
from fwsim.gas import GasSimulator, ManualClock, RtuPort, ScenarioEngine, load_scenario, parse_scenario
from fwsim.rig.availability import find_binary
from fwsim.rig.serial_line import PtyLine
from fwsim.stage.edge_site import SPACE, Site
from protocols import crypto
from protocols.gasprofile import DetectorDecoder, blocks_from_image, read_plan
from safegrid.logging import configure_logging

ROOT = Path(__file__).resolve().parent.parent

def show(name: str, value: str, beside: str = "") -> None:
    print(f"  {name:<58} {value:>16}" + (f"   ({beside})" if beside else ""), flush=True)


async def no_ntp() -> None:
    return None


# -- 1. readings through decode → evaluate → outbox -------------------------------------------------------------

async def settled(journal: Journal, staged: Staged) -> None:
    """Wait until ``staged`` is on disk; a benchmark whose outbox fails stops with the reason (exit 1)."""
    if not await journal.settle(staged):
        raise SystemExit(f"bench edge FAILED: the outbox did not store the records ({journal.outbox.fault})")


async def readings_per_second(tmp: Path, count: int) -> None:
    site = Site(tmp / "r", "/dev/null")
    site.root.mkdir()
    config = load_edge_config(site.write_config())
    engine = ScenarioEngine(load_scenario("clean_air"), [1], start_date=date.today())
    link = DetectorLink(config.detectors[0], ModbusBus(SerialLine("/dev/null")), engine.profile, _nothing)
    plan = read_plan(engine.profile, include_static=False)
    blocks = blocks_from_image(plan, engine.image(1))
    outbox = await Outbox.open(tmp / "r-outbox.db")
    ledger = await Ledger.open(tmp / "r-ledger.db")
    journal = Journal(outbox, ledger)
    # Readings are stamped one poll interval apart (1 s), as a detector's are: the gas monitor's windows (trend,
    # STEL, TWA) then hold what they hold in operation, not thousands of readings from one second.
    start_now = ClockKeeper(ntp=no_ntp).now()
    now = start_now
    runner = SpaceRunner(config.spaces[0], AlarmSet(), [link], now)
    executor = ActionExecutor(journal, outputs={}, pushes=HeldPushes(), key=Ed25519PrivateKey.generate(),
                              save_state=lambda: None)
    captured: list[tuple[str, int, Any]] = []
    batch = 500
    start = time.perf_counter()
    pending = []
    values = 0
    decoder = DetectorDecoder(engine.profile)  # the bench's own, as each detector link owns one
    for i in range(count):
        now = start_now.later(float(i))
        snapshot = decoder.decode(blocks)
        values += len(snapshot.readings)
        runner.observe(link.readings(PollResult("det-1", now.mono, snapshot, None, False), now.mono))
        actions = runner.session.handle(runner.gas_update(now), now)
        own = [records.telemetry(SPACE, "det-1", snapshot), *executor.records_of(runner, actions)]
        staged = journal.stage(own, now.wall * 1000)
        pending.append(staged)
        if len(captured) < 20_000:  # the raw comparison's rows, serialized after the timed loop
            captured += [(kind, now.wall * 1000, body) for _seq, kind, body in staged.records]
        if i % batch == batch - 1:
            for s in pending:
                await settled(journal, s)
            pending.clear()
    for s in pending:
        await settled(journal, s)
    elapsed = time.perf_counter() - start
    await outbox.close()
    await ledger.close()
    rows = [(kind, at_ms, json.dumps(body)) for kind, at_ms, body in captured]
    conn = sqlite3.connect(tmp / "r-raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, kind TEXT, at_ms INTEGER, body TEXT)")
    raw_start = time.perf_counter()
    for first in range(0, len(rows), batch):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO t (kind, at_ms, body) VALUES (?, ?, ?)", rows[first:first + batch])
        conn.execute("COMMIT")
    raw = len(rows) / (time.perf_counter() - raw_start)
    conn.close()
    show("readings/s decode → evaluate → outbox (one core)", f"{values / elapsed:,.0f}",
         f"a reading = one gas value; raw SQLite inserts of the same outbox rows: {raw:,.0f} rows/s; "
         "goal ≥ 20,000")
    show("  detector polls/s (the same run)", f"{count / elapsed:,.0f}", f"{values / count:.0f} gases a poll")


async def _nothing(*_args: Any) -> None:
    return None


# -- 2. durable appends with group commit ----------------------------------------------------------------------

async def durable_appends(tmp: Path, seconds: float, writers: int = 64) -> None:
    outbox = await Outbox.open(tmp / "d-outbox.db")
    body = {"type": "bench", "space_id": SPACE}
    stop_at = time.perf_counter() + seconds
    done = 0

    async def writer() -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            await outbox.append("event", 0, body)
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    elapsed = time.perf_counter() - start
    commits = outbox.commits
    await outbox.close()
    fd = os.open(tmp / "fsync.bin", os.O_WRONLY | os.O_CREAT, 0o600)
    n, fs_start = 0, time.perf_counter()
    while time.perf_counter() - fs_start < min(seconds, 2.0):
        os.write(fd, b"x" * 64)
        os.fsync(fd)
        n += 1
    fsyncs = n / (time.perf_counter() - fs_start)
    os.close(fd)
    show(f"durable outbox appends/s, group commit ({writers} writers)", f"{done / elapsed:,.0f}",
         f"{commits / elapsed:,.0f} commits/s; raw fsyncs/s: {fsyncs:,.0f}; goal ≥ 10,000")


# -- 3. RSS of a running daemon -----------------------------------------------------------------------------------

def rss_config(site: Site, port: str, detectors: int, locks: int) -> Path:
    path = site.write_config()
    text = path.read_text()
    extra = ""
    for unit in range(2, detectors + 1):
        extra += (f'\n[[detectors]]\nid = "det-{unit}"\nbus = "rs485"\nunit = {unit}\nspace = "{SPACE}"\n'
                  "poll_interval_s = 1.0\n")
    for n in range(1, locks):
        key = crypto.public_raw(Ed25519PrivateKey.generate()).hex()
        extra += f'\n[[padlocks]]\nid = "{n:016x}"\nspace = "{SPACE}"\npublic_key = "{key}"\n'
    text = text.replace("unit = 10\nwatchdog_s", "unit = 100\nwatchdog_s")  # detectors take units 1..10
    text = text.replace("poll_interval_s = 0.3", "poll_interval_s = 1.0").replace("[cloud]", extra + "\n[cloud]")
    path.write_text(text)
    return path


async def daemon_rss(tmp: Path, seconds: float, detectors: int = 10, locks: int = 4) -> None:
    line = PtyLine(tmp, find_binary("socat"))
    line.replug()
    sim = GasSimulator(load_scenario("clean_air"), units=range(1, detectors + 1), output_units=[100],
                       clock=_Ticking(), start_date=date.today())
    site = Site(tmp / "rss", line.a)
    site.root.mkdir()
    config = rss_config(site, line.a, detectors, locks)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "firmware-sim")])}
    process = None
    try:
        await sim.serve(RtuPort(line.b))
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "edge.cli", "--log-level", "ERROR", "run", "--config", str(config), cwd=ROOT, env=env)
        await asyncio.sleep(seconds)
        if process.returncode is not None:
            raise RuntimeError(f"the daemon exited with {process.returncode}")
        status = await asyncio.to_thread(Path(f"/proc/{process.pid}/status").read_text)
        rss_kb = int(next(x for x in status.splitlines() if x.startswith("VmRSS:")).split()[1])
        polls = sum(1 for _ in _outbox_kinds(site.state_dir, "telemetry"))
        show(f"RSS of a running daemon, {detectors} detectors, {locks} padlocks", f"{rss_kb / 1024:,.1f} MB",
             f"{polls} polls stored in {seconds:g} s; goal ≤ 60 MB")
    finally:
        if process is not None and process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 20)
        await sim.stop()
        line.unplug()


class _Ticking:
    def __init__(self) -> None:
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start


def _outbox_kinds(state_dir: Path, kind: str) -> list[int]:
    conn = sqlite3.connect(f"file:{state_dir / 'outbox.db'}?mode=ro", uri=True, timeout=5)
    try:
        return [r[0] for r in conn.execute("SELECT seq FROM outbox WHERE kind = ?", (kind,))]
    finally:
        conn.close()


# -- 4. alarm latency --------------------------------------------------------------------------------------------

def spike_scenario(spikes: int) -> Any:
    points = [[0, 0.0]]
    for k in range(1, spikes + 1):
        points += [[1000 * k, 0.0], [1000 * k, 25.0], [1000 * k + 10, 25.0], [1000 * k + 10, 0.0]]
    text = f"""
[scenario]
format = 1
name = "bench_spikes"
description = "H2S steps to 25 ppm and back, {spikes} times, with an instant sensor."
duration_s = {1000 * (spikes + 1)}
seed = 1

[units.1]
t90_s = {{ H2S = 0 }}
noise = {{ H2S = 0, O2 = 0, CO = 0, LEL = 0 }}

[units.1.gases.H2S]
points = {json.dumps(points)}
"""
    return parse_scenario(text, origin="bench")


async def alarm_latency(tmp: Path, spikes: int, poll_s: float) -> None:
    (tmp / "lat").mkdir()
    line = PtyLine(tmp / "lat", find_binary("socat"))
    line.replug()
    clock = ManualClock()
    sim = GasSimulator(spike_scenario(spikes), units=[1], output_units=[10], clock=clock, start_date=date.today())
    module = sim.output_module(10)
    coil_at: list[float] = []
    original = module.write_coils

    siren_on = [False]

    def write_coils(address: int, values: list[bool]) -> bool:
        # Rising edges only: the module's task re-asserts every coil each refresh, which is no new alarm.
        if address == module.profile.outputs["siren"].coil and values:
            if values[0] and not siren_on[0]:
                coil_at.append(time.perf_counter())
            siren_on[0] = bool(values[0])
        return original(address, values)

    module.write_coils = write_coils  # type: ignore[method-assign]  # a timing tap on the simulated module
    stored_at: list[float] = []

    def on_record(_seq: int, kind: str, body: dict[str, Any]) -> None:
        if kind == "alarm" and body["cause"] == "gas_level2" and body["state"] == "raised":
            stored_at.append(time.perf_counter())

    site = Site(tmp / "lat-site", line.a)
    site.root.mkdir()
    config = load_edge_config(site.write_config(poll_s=poll_s))
    daemon = Daemon(config, clock_keeper=ClockKeeper(ntp=no_ntp), on_record=on_record)
    ticker = asyncio.create_task(_tick(clock), name="bench-scenario-clock")
    changed_at: list[float] = []
    try:
        await sim.serve(RtuPort(line.b))
        await daemon.start()
        await asyncio.sleep(2 * poll_s + 0.5)
        for k in range(1, spikes + 1):
            before_store, before_coil = len(stored_at), len(coil_at)
            clock.set(1000.0 * k)
            changed_at.append(time.perf_counter())

            def stored_and_driven(b: int = before_store, c: int = before_coil) -> bool:
                return len(stored_at) > b and len(coil_at) > c

            await until(stored_and_driven, 0.002)
            clock.set(1000.0 * k + 10)
            await until(lambda: not any(a.active for a in daemon.alarms.open_alarms()), 0.01)
            await daemon.acknowledge_space(SPACE, "bench")
            await asyncio.sleep(poll_s * 0.37)  # spread the next change over the poll cycle
    finally:
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
        await daemon.stop()
        await sim.stop()
        line.unplug()
    n = min(len(changed_at), len(stored_at), len(coil_at))
    to_store = sorted((stored_at[i] - changed_at[i]) * 1000 for i in range(n))
    to_coil = sorted((coil_at[i] - changed_at[i]) * 1000 for i in range(n))

    def p(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]

    goal = f"goal p99 ≤ poll interval + 50 ms = {poll_s * 1000 + 50:.0f} ms; {n} spikes"
    show("alarm latency register → outbox, p50 / p99 (ms)", f"{statistics.median(to_store):.0f} / "
         f"{p(to_store, 0.99):.0f}", goal)
    show("alarm latency register → siren coil, p50 / p99 (ms)", f"{statistics.median(to_coil):.0f} / "
         f"{p(to_coil, 0.99):.0f}", f"poll interval {poll_s * 1000:.0f} ms")


async def until(check: Callable[[], bool], every_s: float, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark waited too long: is the machine overloaded?")
        await asyncio.sleep(every_s)


async def _tick(clock: ManualClock) -> None:
    while True:
        await asyncio.sleep(0.1)
        clock.advance(0.1)


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp_name:
        tmp = Path(tmp_name)
        print("edge daemon benchmark", flush=True)
        await readings_per_second(tmp, args.readings)
        await durable_appends(tmp, args.seconds)
        await daemon_rss(tmp, max(args.seconds * 3, 10.0))
        await alarm_latency(tmp, args.spikes, args.poll)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each timed figure (default 3)")
    parser.add_argument("--readings", type=int, default=20_000, help="detector polls for figure 1 (default 20000)")
    parser.add_argument("--spikes", type=int, default=20, help="register changes for the latency (default 20)")
    parser.add_argument("--poll", type=float, default=0.5, help="poll interval for the latency (default 0.5 s)")
    configure_logging("ERROR", json=False)
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
