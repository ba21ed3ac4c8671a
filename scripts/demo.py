"""The confined-space flow end to end on one machine, time-compressed: ``scripts/demo`` runs this.

A gas detector and an alarm output module are simulated on a serial line (a pty pair: socat when installed,
else an os.openpty bridge); the gateway daemon polls them, runs the session and keeps every record in its
outbox and hash-chained ledger (SQLite files in a temp dir). No broker, no database server.

What stands in for parts built elsewhere — the seams:

- ``LocalCloud`` approves the permit and issues its token with a key generated here, and signs the gateway's
  commands (time, permit). The real cloud does the same through its API; the daemon cannot tell the
  difference, since it trusts only the signature.
- ``Hatch`` is the padlock at the hatch: it checks the worker's token (the protocol's reference check) and
  the gateway's gas attestation, then writes a signed audit entry, which the daemon verifies as it would
  one fetched over the radio.

Prints one line per event: time since start, what happened, why. ``--no-serve`` exits 0 when the flow is
done; otherwise the daemon keeps running (console socket, health endpoint) until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the test rig's serial line (tests/rig) is reused for the pty pair

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from edge.clocktrust import ClockKeeper  # noqa: E402
from edge.config import load_edge_config  # noqa: E402
from edge.daemon import Daemon  # noqa: E402
from edge.daemon.keyfile import key_pem  # noqa: E402
from edge.daemon.padlocks import HeldPushes  # noqa: E402
from fwsim.gas import GasSimulator, ManualClock, RtuPort, parse_scenario  # noqa: E402
from protocols import crypto  # noqa: E402
from protocols.commands import make_command, sign_command  # noqa: E402
from protocols.padlock.audit import GENESIS_HASH, sign_entry  # noqa: E402
from protocols.padlock.events import EventKind, EventPermit, LockEvent  # noqa: E402
from protocols.padlock.unlock import gas_problem  # noqa: E402
from protocols.token import PermitClaims, issue_token, verify_token  # noqa: E402
from safegrid.files import write_private_file  # noqa: E402
from safegrid.logging import configure_logging  # noqa: E402
from tests.rig.availability import find_binary  # noqa: E402
from tests.rig.serial_line import PtyLine  # noqa: E402

GATEWAY = "gw-demo"
SPACE = bytes.fromhex("3b1f6a0c9d2e4f5a8b7c6d5e4f3a2b1c")
LOCK = bytes.fromhex("a1b2c3d4e5f60718")
PERMIT = bytes.fromhex("0f" * 16)
WORKERS = ("Li Wei", "Zhang Min")
WORK_S = 24  # the permit's longest continuous stay inside (compressed: a real one is hours)
WARN_S = 8  # the overtime warning comes this long before it
SPIKE_AT, SPIKE_END = 1000.0, 1006.0  # scenario seconds: the demo moves the simulated air there

SCENARIO = f"""
[scenario]
format = 1
name = "demo_sewer"
description = "A sewer well: clean air, then sludge disturbed — H2S 25 ppm for six seconds."
duration_s = 100000
seed = 7

[units.1]
t90_s = {{ h2s = 1.5, o2 = 2, co = 2, flammable = 2 }}

[units.1.gases.h2s]
points = [[0, 0.0], [{SPIKE_AT}, 0.0], [{SPIKE_AT}, 25.0], [{SPIKE_END}, 25.0], [{SPIKE_END}, 0.0]]
"""

T0 = time.monotonic()


def say(what: str, why: str = "") -> None:
    why = why.split("; ")[0]  # the first reason is the one that matters on a timeline
    why = why if len(why) <= 110 else why[:109] + "…"
    print(f"{time.monotonic() - T0:6.1f}s  {what}" + (f"  — {why}" if why else ""), flush=True)


class LocalCloud:
    """Stand-in for the cloud's permit approval and command signing (keys generated for this run only)."""

    def __init__(self) -> None:
        self.issuer = Ed25519PrivateKey.generate()
        self.command_key = Ed25519PrivateKey.generate()
        self.counter = itertools.count(1)

    def command(self, kind: str, body: dict[str, Any], lifetime_ms: int) -> bytes:
        now_ms = time.time_ns() // 1_000_000
        command = make_command({"kind": kind, "gateway": GATEWAY, "counter": next(self.counter),
                                "issued_at_ms": now_ms, "expires_at_ms": now_ms + lifetime_ms, "body": body})
        return sign_command(command, self.command_key, kid=crypto.key_id(self.command_key))

    def time(self) -> bytes:
        return self.command("time", {"time_ms": time.time_ns() // 1_000_000}, lifetime_ms=1000)

    def approve(self, holder: Ed25519PrivateKey) -> tuple[bytes, bytes]:
        """The approved permit's token for the worker's phone, and the signed command that tells the gateway."""
        now = int(time.time())
        claims = PermitClaims(iss="safegrid-demo", sub=WORKERS[0], iat=now, nbf=now - 60, exp=now + 3600,
                              cti=bytes(range(16)), holder_key=crypto.public_raw(holder), permit_id=PERMIT,
                              enterprise_id=bytes(16), space_id=SPACE, worker_id=bytes([7]) * 16, lock_ids=(LOCK,),
                              window_start=now - 60, window_end=now + 3600, max_duration_s=WORK_S, entrant_limit=2,
                              gas_test_required=True, drill=False)
        token = issue_token(claims, self.issuer, kid=crypto.key_id(self.issuer))
        body = {"claims": {"permit_id": PERMIT.hex(), "token_id": claims.cti.hex(), "enterprise_id": "0" * 32,
                           "space_id": SPACE.hex(), "lock_ids": [LOCK.hex()], "worker_id": "07" * 16,
                           "not_before_ms": (now - 60) * 1000, "not_after_ms": (now + 3600) * 1000,
                           "max_continuous_ms": WORK_S * 1000, "entrant_limit": 2, "gas_test_required": True}}
        return token, self.command("permit_issued", body, lifetime_ms=300_000)


class Hatch:
    """Stand-in for the padlock: the protocol's reference token and attestation checks, signed audit entries."""

    def __init__(self, cloud: LocalCloud, gateway_key: Ed25519PrivateKey) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.issuer_keys = {crypto.key_id(cloud.issuer): cloud.issuer.public_key()}
        self.gateway_key = gateway_key.public_key()
        self.seq, self.prev = 0, GENESIS_HASH

    def _entry(self, kind: EventKind, permit: EventPermit | None = None) -> bytes:
        self.seq += 1
        event = LockEvent(seq=self.seq, kind=kind, at=int(time.time()), permit=permit)
        entry = sign_entry(event, lock_id=LOCK, prev_hash=self.prev, lock_key=self.key)
        self.prev = entry.hash
        return entry.signed

    def unlock(self, token: bytes, attestation: bytes | None) -> bytes:
        now = int(time.time())
        claims = verify_token(token, issuer_keys=self.issuer_keys, now=now, lock_id=LOCK)
        problem = gas_problem(attestation, gateway_key=self.gateway_key, space_id=SPACE, now=now)
        if problem:
            raise RuntimeError(f"the padlock refuses: {problem}")
        return self._entry(EventKind.OPENED, EventPermit.from_claims(claims))

    def close(self) -> bytes:
        return self._entry(EventKind.CLOSED)


def write_config(root: Path, port: str, cloud: LocalCloud, hatch: Hatch, gateway_key: Ed25519PrivateKey) -> Path:
    write_private_file(root / "gateway.key", key_pem(gateway_key))
    kid = crypto.key_id(cloud.command_key).hex()
    path = root / "edge.toml"
    path.write_text(f"""
[gateway]
id = "{GATEWAY}"
state_dir = "state"
key_file = "gateway.key"

[[buses]]
name = "rs485-1"
serial = "{port}"
timeout_s = 0.3

[[detectors]]
id = "det-1"
bus = "rs485-1"
unit = 1
space = "{SPACE.hex()}"
poll_interval_s = 0.5

[[output_modules]]
id = "om-1"
bus = "rs485-1"
unit = 10
watchdog_s = 0
input_poll_s = 0.2

[[spaces]]
id = "{SPACE.hex()}"
name = "Sewer well 3"
output_module = "om-1"
fan_channel = 1
stale_after_polls = 6
attestation_in_range_s = 2
overtime_warning_s = {WARN_S}

[[padlocks]]
id = "{LOCK.hex()}"
space = "{SPACE.hex()}"
public_key = "{crypto.public_raw(hatch.key).hex()}"

[cloud]
command_keys = {{ "{kid}" = "{crypto.public_raw(cloud.command_key).hex()}" }}

[core]
tick_s = 0.25
ledger_summary_s = 5

[ops]
health_port = 0
""")
    return path


def describe(seq: int, kind: str, body: dict[str, Any]) -> tuple[str, str] | None:
    """One timeline line for a record (None: not worth a line)."""
    if kind == "session":
        return f"#{seq} session {body['state']}", body.get("reason", "")
    if kind == "alarm":
        value = f" {body['gas']} {body['value']:.3g} {body['unit']}" if "value" in body else ""
        who = f" by {body['by']}" if body.get("by") else ""
        what = f"#{seq} ALARM {body['alarm_id']} {body['state']}{who}: {body['cause']} (level {body['level']}){value}"
        return what, body.get("detail", "")
    if kind == "lock_audit":
        return f"#{seq} padlock audit entry {body['lock_seq']}: {body['event']}", "lock-signed, chain verified"
    if kind == "event":
        data = body.get("data", {})
        quiet = {"detector_recovered", "ledger_head", "command_result"}
        if body["type"] in quiet and body["type"] != "command_result":
            return None
        detail = {"evacuate": lambda: "; ".join(data.get("reasons", [])),
                  "attendant_notice": lambda: data.get("message", ""),
                  "fan_started": lambda: data.get("reason", ""),
                  "attestation_issued": lambda: f"valid until {data.get('valid_until')}, {data.get('values')}",
                  "command_result": lambda: f"{data.get('kind')} → {data.get('result')}",
                  "entrant_in": lambda: data.get("person", ""), "entrant_out": lambda: data.get("person", ""),
                  "gateway_started": lambda: data.get("software", "")}.get(body["type"], lambda: "")()
        return f"#{seq} event {body['type']}", str(detail)
    return None


class Timeline:
    def __init__(self) -> None:
        self.last_gas = 0.0
        self.lines = 0

    def record(self, seq: int, kind: str, body: dict[str, Any]) -> None:
        if kind == "telemetry":
            now = time.monotonic()
            flagged = any(g.get("flags") for g in body["gases"])
            if now - self.last_gas >= 4 or (flagged and now - self.last_gas >= 1):
                self.last_gas = now
                gases = ", ".join(f"{g['gas']} {g['value']:g} {g['unit']}" for g in body["gases"])
                say(f"#{seq} gas {gases}", "detector det-1, polled over RS-485")
            return
        line = describe(seq, kind, body)
        if line is not None:
            say(*line)

    def announce(self, space: str, kind: str, message: str) -> None:
        say(f"ATTENDANT {'EVACUATE' if kind == 'evacuate' else 'notice'}", message)


async def until(check: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the demo waited {timeout_s:g} s for: {what}")
        await asyncio.sleep(0.05)
    return value


async def watch_coils(sim: GasSimulator) -> None:
    shown: dict[str, bool] = {}
    while True:
        coils = sim.output_module(10).coils
        for name, on in coils.items():
            if shown.get(name, False) != on:
                say(f"output module: {name} {'ON' if on else 'off'}", "coil read back on the module")
        shown = coils
        await asyncio.sleep(0.05)


async def scenario_clock(clock: ManualClock) -> None:
    while True:
        await asyncio.sleep(0.1)
        clock.advance(0.1)


async def no_ntp() -> None:
    return None  # the demo's gateway learns the time from the (local) cloud's signed time command


async def flow(root: Path, serve: bool) -> int:
    line = PtyLine(root, find_binary("socat"))
    line.replug()
    cloud, gateway_key = LocalCloud(), Ed25519PrivateKey.generate()
    hatch, phone = Hatch(cloud, gateway_key), Ed25519PrivateKey.generate()
    clock = ManualClock()
    sim = GasSimulator(parse_scenario(SCENARIO, origin="demo"), units=[1], output_units=[10], clock=clock,
                       start_date=date.today())
    timeline, pushes = Timeline(), HeldPushes()
    config = load_edge_config(write_config(root, line.a, cloud, hatch, gateway_key))
    daemon = Daemon(config, clock_keeper=ClockKeeper(ntp=no_ntp), pushes=pushes, announce=timeline.announce,
                    on_record=timeline.record)
    helpers: list[asyncio.Task[None]] = []
    try:
        await sim.serve(RtuPort(line.b))
        helpers += [asyncio.create_task(scenario_clock(clock), name="demo-scenario-clock"),
                    asyncio.create_task(watch_coils(sim), name="demo-coil-watch")]
        say(f"serial line {line.mode}: gas detector (unit 1) and output module (unit 10) simulated on {line.b}")
        await daemon.start()
        space = daemon.spaces[SPACE.hex()]
        await until(lambda: space.last_state and space.last_state.all_in_range, "gases in range")
        say("cloud → gateway: signed time", "a Pi has no battery-backed clock; only signed or NTP time is trusted")
        await daemon.submit_command(cloud.time())
        token, permit = cloud.approve(phone)
        say(f"cloud: permit approved, token of {len(token)} bytes for {WORKERS[0]}'s phone",
            f"{WORK_S} s continuous work, 2 entrants, fresh gas test required")
        await daemon.submit_command(permit)
        signed = await until(lambda: pushes.latest.get((LOCK.hex(), "gas_attestation")), "gas attestation")
        say(f"gateway → padlock: gas attestation ({len(signed)} bytes, gateway-signed)")
        say(f"phone at the hatch: {WORKERS[0]} presents the token")
        await daemon.relay_audit(LOCK.hex(), [hatch.unlock(token, signed)])
        for person in WORKERS:
            await daemon.entrant_in(SPACE.hex(), person)
        await asyncio.sleep(1.5)
        say("scenario: sludge disturbed, H2S rising")
        clock.set(SPIKE_AT)
        await until(lambda: sim.output_module(10).coils["siren"], "siren")
        await asyncio.sleep(2)
        for person in WORKERS:
            await daemon.entrant_out(SPACE.hex(), person)
        clock.set(max(clock.now(), SPIKE_END))
        await until(lambda: not any(a.active and a.key.kind.value.startswith("gas_")
                                    for a in daemon.alarms.open_alarms()), "H2S back in range")
        say("attendant presses the acknowledge button on the output module")
        sim.output_module(10).press("ack")
        await until(lambda: not sim.output_module(10).coils["siren"], "siren silenced")
        sim.output_module(10).release("ack")
        await until(lambda: space.last_state and space.last_state.in_range_for(2.5), "air clear 2.5 s")
        say("attendant confirms the air is clear; work resumes")
        await daemon.confirm_entry(SPACE.hex(), "attendant")
        for person in WORKERS:
            await daemon.entrant_in(SPACE.hex(), person)
        await until(lambda: space.session.phase.value == "overtime", "overtime", timeout_s=WORK_S + 10)
        await asyncio.sleep(1)
        for person in WORKERS:
            await daemon.entrant_out(SPACE.hex(), person)
        say("attendant: everyone is out; the padlock is closed")
        await daemon.relay_audit(LOCK.hex(), [hatch.close()])
        await daemon.acknowledge_space(SPACE.hex(), "attendant")
        await until(lambda: not sim.output_module(10).coils["siren"], "siren off")
        await daemon.write_ledger_summary()
        assert daemon.outbox is not None and daemon.ledger is not None
        await daemon.outbox.flush()
        rows = await daemon.outbox.pending(1_000_000)
        seqs = [r.seq for r in rows]
        verification = await daemon.ledger.verify()
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.kind] = counts.get(r.kind, 0) + 1
        say(f"done: session {space.session.phase.value}; outbox holds {len(rows)} records, seq 1..{seqs[-1]} "
            f"without a gap: {seqs == list(range(1, len(seqs) + 1))}; {counts}")
        say(f"ledger: {daemon.ledger.head.seq} entries, hash chain verifies: {verification.ok}",
            "waiting for the cloud's ack; nothing is deleted before it")
        ok = seqs == list(range(1, len(seqs) + 1)) and verification.ok and space.session.phase.value == "closed"
        if serve and ok:
            assert daemon.ops is not None
            print(f"\nThe gateway keeps running. Health: http://127.0.0.1:{daemon.ops.port}/healthz, metrics: "
                  f"/metrics; attendant console: {daemon.state_dir / 'console.sock'}. Ctrl-C to stop.", flush=True)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await daemon.run(stop)
        return 0 if ok else 1
    finally:
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        await daemon.stop()
        await sim.stop()
        line.unplug()


def main() -> int:
    parser = argparse.ArgumentParser(description="SafeGrid: a confined-space operation, end to end, on this machine.")
    parser.add_argument("--no-serve", action="store_true", help="exit when the scenario is done")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (outbox, ledger, config)")
    args = parser.parse_args()
    configure_logging("ERROR", json=False)  # the timeline is the output; the daemon's own logs stay quiet
    root = Path(tempfile.mkdtemp(prefix="safegrid-demo-"))
    try:
        print(f"SafeGrid demo — state in {root}", flush=True)
        return asyncio.run(flow(root, serve=not args.no_serve))
    except (TimeoutError, RuntimeError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            import shutil

            with contextlib.suppress(OSError):
                shutil.rmtree(root)


if __name__ == "__main__":
    sys.exit(main())
