"""A gateway site without a cloud, for the daemon tests, the edge benchmark and the demo: keys, an edge.toml on a
real serial line, a gas scenario with a spike on demand, signed cloud commands and padlock audit entries signed
with a lock key (the padlock protocol's own code).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.daemon.keyfile import key_pem
from fwsim.gas import ManualClock, parse_scenario
from protocols import crypto
from protocols.commands import make_command, sign_command
from protocols.padlock.audit import GENESIS_HASH, sign_entry
from protocols.padlock.events import EventKind, EventPermit, LockEvent
from safegrid.files import write_private_file

GATEWAY = "gw-test"
SPACE = "5a" * 16
LOCK = "10" * 8
PERMIT = "ab" * 16
WORKER = "cd" * 16
ENTERPRISE = "ef" * 16
SPIKE_AT, SPIKE_END = 1000.0, 1060.0

# H2S steps to 25 ppm (≈ 35 mg/m³: beyond level 2) at SPIKE_AT and back to 0 at SPIKE_END, sensor T90 1 s.
SCENARIO = f"""
[scenario]
format = 1
name = "daemon_test"
description = "Clean air, then an H2S spike when the test moves the clock to {SPIKE_AT:g} s."
duration_s = 100000
seed = 5

[units.1]
t90_s = {{ H2S = 1, O2 = 1, CO = 1, LEL = 1 }}

[units.1.gases.H2S]
interpolation = "linear"
points = [[0, 0.0], [{SPIKE_AT}, 0.0], [{SPIKE_AT}, 25.0], [{SPIKE_END}, 25.0], [{SPIKE_END}, 0.0]]
"""


def scenario() -> Any:
    return parse_scenario(SCENARIO, origin="daemon_test")


@dataclass
class Site:
    root: Path
    port: str
    gateway_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    cloud_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    lock_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    lock_seq: int = 0
    lock_hash: bytes = GENESIS_HASH

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def write_config(self, *, poll_s: float = 0.3, extra_space: str = "", watchdog_s: float = 0.0,
                     overtime_warning_s: int = 5, uplink: str = "", extra_detector: str = "",
                     extra_module: str = "") -> Path:
        """edge.toml for the site; ``uplink`` is an ``[uplink]`` section (none: records wait in the outbox);
        ``extra_detector`` / ``extra_module`` more keys of the detector's / output module's table
        (``heartbeat_timeout_s = 2``, ``fault_pulse_on_s = 0.4``)."""
        write_private_file(self.root / "gateway.key", key_pem(self.gateway_key))
        kid = crypto.key_id(self.cloud_key).hex()
        text = f"""
[gateway]
id = "{GATEWAY}"
state_dir = "state"
key_file = "gateway.key"

[[buses]]
name = "rs485"
serial = "{self.port}"
timeout_s = 0.3

[[detectors]]
id = "det-1"
bus = "rs485"
unit = 1
space = "{SPACE}"
poll_interval_s = {poll_s}
retries = 0
fail_after = 2
{extra_detector}

[[output_modules]]
id = "om-1"
bus = "rs485"
unit = 10
watchdog_s = {watchdog_s}
input_poll_s = 0.2
refresh_s = 2.0
{extra_module}

[[spaces]]
id = "{SPACE}"
name = "Sewer well 3"
output_module = "om-1"
fan_channel = 1
stale_after_polls = 10
attestation_in_range_s = 1
overtime_warning_s = {overtime_warning_s}
unauthorized_deadline_s = 60
{extra_space}

[[padlocks]]
id = "{LOCK}"
space = "{SPACE}"
public_key = "{crypto.public_raw(self.lock_key).hex()}"

[cloud]
command_keys = {{ "{kid}" = "{crypto.public_raw(self.cloud_key).hex()}" }}

[core]
tick_s = 0.2

[ops]
console = true
{uplink}"""
        path = self.root / "edge.toml"
        path.write_text(text)
        return path

    @staticmethod
    def mqtt_uplink(host: str, port: int) -> str:
        """An ``[uplink]`` over a private broker on loopback (plain TCP), quick to retry: acks arrive only once the
        clock is trusted (the gate checks their expiry), so the first batches are sent again after a short wait."""
        return f"""
[uplink]
backend = "mqtt"

[uplink.mqtt]
host = "{host}"
port = {port}
insecure = true
keepalive_s = 5
reconnect_initial_s = 0.1
reconnect_max_s = 1.0

[uplink.batch]
max_linger_s = 0.05
ack_timeout_s = 2.0
backoff_initial_s = 0.1
backoff_max_s = 1.0
"""

    # -- the cloud ---------------------------------------------------------------------------------------------
    def command(self, kind: str, body: dict[str, Any], *, lifetime_ms: int = 30_000) -> bytes:
        now_ms = time.time_ns() // 1_000_000
        command = make_command({"kind": kind, "gateway": GATEWAY, "counter": next(self.counter),
                                "issued_at_ms": now_ms, "expires_at_ms": now_ms + lifetime_ms, "body": body})
        return sign_command(command, self.cloud_key, kid=crypto.key_id(self.cloud_key))

    def time_command(self) -> bytes:
        # A short lifetime, as the cloud gives time commands: it bounds how far the gateway's estimate may be off.
        return self.command("time", {"time_ms": time.time_ns() // 1_000_000}, lifetime_ms=1000)

    def claims(self, *, max_continuous_s: int, entrant_limit: int = 2) -> dict[str, Any]:
        now_ms = time.time_ns() // 1_000_000
        return {"permit_id": PERMIT, "token_id": "77" * 16, "enterprise_id": ENTERPRISE, "space_id": SPACE,
                "lock_ids": [LOCK], "worker_id": WORKER, "not_before_ms": now_ms - 60_000,
                "not_after_ms": now_ms + 3_600_000, "max_continuous_ms": max_continuous_s * 1000,
                "entrant_limit": entrant_limit, "gas_test_required": True}

    def permit_command(self, *, max_continuous_s: int) -> bytes:
        return self.command("permit_issued", {"claims": self.claims(max_continuous_s=max_continuous_s)})

    # -- the padlock -------------------------------------------------------------------------------------------
    def lock_entry(self, kind: EventKind, *, max_duration_s: int = 20) -> bytes:
        self.lock_seq += 1
        permit = None
        if kind is EventKind.OPENED:
            permit = EventPermit(token_id=bytes.fromhex("77" * 16), permit_id=bytes.fromhex(PERMIT),
                                 space_id=bytes.fromhex(SPACE), worker_id=bytes.fromhex(WORKER),
                                 exp=int(time.time()) + 3600, max_duration_s=max_duration_s, entrant_limit=2,
                                 drill=False)
        event = LockEvent(seq=self.lock_seq, kind=kind, at=int(time.time()), permit=permit)
        entry = sign_entry(event, lock_id=bytes.fromhex(LOCK), prev_hash=self.lock_hash, lock_key=self.lock_key)
        self.lock_hash = entry.hash
        return entry.signed


class RunningClock:
    """A ManualClock advanced in real time by a task, that a test can also jump forward (the gas spike)."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            self.clock.advance(0.1)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="test-scenario-clock")

    def jump(self, t: float) -> None:
        self.clock.set(max(t, self.clock.now()))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
