"""The confined-space flow end to end on one machine, every part real: ``scripts/demo`` runs this.

- the cloud (``safegrid-cloud serve``) on a SQLite file, its keys made and a small city registered;
- the gateway daemon, talking to the cloud over HTTP (batches up, signed commands polled down);
- a gas detector and an alarm output module simulated on a serial line (a pty pair: socat when installed,
  else an os.openpty bridge), polled by the gateway over Modbus RTU;
- the padlock and the worker's phone on a virtual BLE radio (bumble controllers linked in this process).

The flow is the end-to-end test's (``fwsim.stage.slice``): enrolment and provisioning, a permit applied for and
approved in the cloud, pushed to the gateway, the gas attestation pushed to the padlock, the phone's token fetched
from the cloud and the padlock unlocked, an H2S spike raising a cloud alert with the space's rescue card,
acknowledged by the attendant in the cloud, the padlock closed and the session closed. No broker, no database
server: temp files only.

Prints one line per event: time since start, what happened, why. ``--no-serve`` exits 0 when the flow is done;
otherwise the gateway and the cloud keep running (console socket, health endpoint, the cloud's API) until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from edge.daemon import Daemon
from fwsim.gas import GasSimulator, RtuPort
from fwsim.lock.radio import VirtualRadio, pick_free_ports
from fwsim.rig.serial_line import PtyLine
from fwsim.stage.cloud import running_cloud
from fwsim.stage.edge_site import RunningClock, scenario
from fwsim.stage.slice import Slice, SliceFailed, check_order
from fwsim.stage.world import PASSWORD
from safegrid.logging import configure_logging

T0 = time.monotonic()


def say(what: str, why: str = "") -> None:
    why = why.split("; ")[0] if len(why) > 110 else why  # the first reason is the one that matters on a timeline
    why = why if len(why) <= 110 else why[:109] + "…"
    print(f"{time.monotonic() - T0:6.1f}s  {what}" + (f"  — {why}" if why else ""), flush=True)


def describe(seq: int, kind: str, body: dict[str, Any]) -> tuple[str, str] | None:
    """One timeline line for a gateway record (None: not worth a line)."""
    data = body.get("data", {})
    if kind == "session":
        return f"gateway #{seq} session {body['state']}", body.get("reason", "")
    if kind == "alarm":
        value = f" {body['gas']} {body['value']:.3g} {body['unit']}" if "value" in body else ""
        who = f" by {body['by']}" if body.get("by") else ""
        what = f"gateway #{seq} ALARM {body['alarm_id']} {body['state']}{who}: {body['cause']} (level {body['level']})"
        return what + value, body.get("detail", "")
    if kind == "lock_audit":
        return f"gateway #{seq} padlock entry {body['lock_seq']}: {body['event']}", "fetched by radio, chain verified"
    if kind == "event" and body["type"] in ("attestation_issued", "command_result", "entrant_in", "entrant_out",
                                           "fan_started"):
        until = data.get("valid_until")
        detail = {"command_result": f"{data.get('kind')} → {data.get('result')}",
                  "attestation_issued": f"valid until {time.strftime('%H:%M:%S', time.localtime(until))}"
                  if isinstance(until, int) else ""}.get(body["type"], "")
        return (f"gateway #{seq} {body['type'].replace('_', ' ')}",
                detail or str(data.get("person", data.get("reason", ""))))
    return None


class Timeline:
    """Gateway records as timeline lines; gas readings every few seconds, or every second while flagged."""

    def __init__(self) -> None:
        self.last_gas = 0.0

    def record(self, seq: int, kind: str, body: dict[str, Any]) -> None:
        if kind == "telemetry":
            flagged = any(g.get("flags") for g in body["gases"])
            if time.monotonic() - self.last_gas >= (1 if flagged else 5):
                self.last_gas = time.monotonic()
                gases = ", ".join(f"{g['gas']} {g['value']:g} {g['unit']}" for g in body["gases"])
                say(f"gateway #{seq} gas {gases}", "detector GD-SP1 over RS-485")
            return
        line = describe(seq, kind, body)
        if line is not None:
            say(*line)


async def watch_coils(sim: GasSimulator) -> None:
    shown: dict[str, bool] = {}
    while True:
        coils = sim.output_module(10).coils
        for name, on in coils.items():
            if shown.get(name, False) != on:
                say(f"output module: {name} {'ON' if on else 'off'}", "coil read back on the module")
        shown = coils
        await asyncio.sleep(0.05)


async def serve_until_interrupted(base_url: str, daemon: Daemon) -> None:
    assert daemon.ops is not None
    print(f"\nStill running. Cloud API: {base_url}/docs (users admin, mgr1, att1, worker1; password {PASSWORD!r}).\n"
          f"Gateway health: http://127.0.0.1:{daemon.ops.port}/healthz and /metrics; attendant console: "
          f"{daemon.state_dir / 'console.sock'}. Ctrl-C to stop.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


async def flow(root: Path, serve: bool) -> int:
    line = PtyLine(root, shutil.which("socat"))
    line.replug()
    clock = RunningClock()
    sim = GasSimulator(scenario(), units=[1], output_units=[10], clock=clock.clock, start_date=date.today())
    coils: asyncio.Task[None] | None = None
    try:
        await sim.serve(RtuPort(line.b))
        clock.start()
        coils = asyncio.create_task(watch_coils(sim), name="demo-coil-watch")
        say(f"serial line ({line.mode}): gas detector (unit 1) and output module (unit 10) simulated")
        async with VirtualRadio("127.0.0.1", pick_free_ports("127.0.0.1", 3)) as radio:
            say("virtual radio: three linked controllers (gateway, padlock, phone)")
            async with running_cloud(root / "cloud") as cloud:
                say(f"cloud: serving on SQLite at {cloud.base_url}", "schema migrated, keys made, a city registered")
                demo = Slice(cloud, root, line.a, (sim, clock), (radio.specs[0], radio.specs[1], radio.specs[2]),
                             say=say, on_record=Timeline().record, serve=serve)

                async def keep_serving(daemon: Daemon) -> None:
                    await serve_until_interrupted(cloud.base_url, daemon)

                result = await demo.run(after=keep_serving if serve else None)
        check_order(result.records)
        say(f"done: {len(result.records)} gateway records, each once and in order; all stored by the cloud")
        return 0
    finally:
        if coils is not None:
            coils.cancel()
            await asyncio.gather(coils, return_exceptions=True)
        await clock.stop()
        await sim.stop()
        line.unplug()


def main() -> int:
    parser = argparse.ArgumentParser(description="SafeGrid: a confined-space operation, end to end, on this machine.")
    parser.add_argument("--no-serve", action="store_true", help="exit when the scenario is done")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (databases, configs, logs)")
    args = parser.parse_args()
    configure_logging("ERROR", json=False)  # the timeline is the output; the parts' own logs stay quiet
    root = Path(tempfile.mkdtemp(prefix="safegrid-demo-"))
    try:
        print(f"SafeGrid demo — state in {root}", flush=True)
        return asyncio.run(flow(root, serve=not args.no_serve))
    except (SliceFailed, TimeoutError, RuntimeError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            with contextlib.suppress(OSError):
                shutil.rmtree(root)


if __name__ == "__main__":
    sys.exit(main())
