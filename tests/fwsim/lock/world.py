"""A small world for padlock tests: the protocol's fixed test keys, a settable host clock, a lock on the radio.

Keys, ids and permits come from ``protocols.vectorgen.padlock`` (fixed public test keys, never for devices);
the lock's own key is random, as on a real lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from bumble.device import Device

from fwsim.lock import LockStore, PadlockCore, PadlockPeripheral
from fwsim.phone.bumble_central import BumbleCentral
from fwsim.phone.link import LockLink
from fwsim.phone.session import PadlockSession
from protocols import crypto
from protocols.padlock import messages as m
from protocols.padlock.audit import AuditEntry, decode_entry, verify_chain
from protocols.padlock.gatt import PREFERRED_ATT_MTU
from protocols.vectorgen import padlock as v

NOW = v.NOW
STEP_TIMEOUT_S = 20.0


class HostClock:
    """The host time the lock reads (Unix seconds), moved by the test."""

    def __init__(self, t: float = NOW) -> None:
        self.t = float(t)

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def provision_message(lock_id: bytes = v.LOCK_ID, *, time: int | None = None) -> m.Provision:
    return m.Provision(lock_id=lock_id, issuer_keys={v.ISSUER_KID: crypto.public_raw(v.ISSUER)},
                       gateway_key=crypto.public_raw(v.GATEWAY), time=time)


def provisioned_core(clock: HostClock) -> PadlockCore:
    """A factory-new lock provisioned with the test issuer and gateway, lock id ``v.LOCK_ID``."""
    core = PadlockCore.factory_new(clock())
    reply = core.handle(provision_message().encode(), clock())
    assert reply.response == m.Result("ok", int(m.MessageType.PROVISION))
    return core


def token(**changes: Any) -> bytes:
    """A permit for ``v.LOCK_ID`` held by ``v.WORKER``; gas test not required unless asked."""
    changes.setdefault("gas_test_required", False)
    return v.token(v.claims(**changes))


def token_for_now(**changes: Any) -> bytes:
    """A permit valid around the real time (for locks in their own processes, which read the host clock)."""
    now = int(time.time())
    window = {"iat": now - 3600, "nbf": now - 600, "exp": now + 4 * 3600, "window_start": now - 600,
              "window_end": now + 4 * 3600}
    return token(**{**window, **changes})


def verify_log(core: PadlockCore) -> list[AuditEntry]:
    """The lock's whole kept log, verified with its public key, ending at the hash the lock chains on."""
    entries = core.log.entries
    prev = decode_entry(entries[0]).prev_hash  # genesis, unless older entries were pruned or the chain restarted
    verified = verify_chain(entries, crypto.public_key_from_raw(core.lock_public_key), prev,
                            after_seq=core.log.first_seq() - 1, lock_id=core.lock_id)
    assert verified[-1].hash == core.log.last_hash and verified[-1].seq == core.log.last_seq
    return verified


@contextlib.contextmanager
def default_logging() -> Iterator[None]:
    """structlog's defaults before and after a test, and the root logger's handlers as they were.

    An in-process CLI run (``main([...])``) configures logging onto the test's captured stream, which pytest
    closes after the test; the simulators log on every event, so later tests must not write to it.
    """
    handlers, level = logging.root.handlers[:], logging.root.level
    structlog.reset_defaults()
    try:
        yield
    finally:
        structlog.reset_defaults()
        logging.root.handlers[:] = handlers
        logging.root.setLevel(level)


@dataclass
class PadlockRig:
    """A provisioned padlock on the in-process radio, a phone device beside it, a settable host clock."""

    clock: HostClock
    store: LockStore
    lock: PadlockPeripheral
    phone_device: Device

    @property
    def core(self) -> PadlockCore:
        return self.lock.core

    @property
    def central(self) -> BumbleCentral:
        return BumbleCentral(self.phone_device)

    @contextlib.asynccontextmanager
    async def link(self, *, mtu: int = PREFERRED_ATT_MTU) -> AsyncIterator[LockLink]:
        found = await asyncio.wait_for(self.central.find(self.core.lock_id, STEP_TIMEOUT_S), STEP_TIMEOUT_S)
        link = await asyncio.wait_for(self.central.connect(found, mtu=mtu), STEP_TIMEOUT_S)
        try:
            yield link
        finally:
            await link.close()

    @contextlib.asynccontextmanager
    async def session(self, *, mtu: int = PREFERRED_ATT_MTU) -> AsyncIterator[PadlockSession]:
        async with self.link(mtu=mtu) as link:
            yield PadlockSession(link)


@contextlib.asynccontextmanager
async def padlock_rig(radio: Any, state_dir: Path, *, provisioned: bool = True, **options: Any
                      ) -> AsyncIterator[PadlockRig]:
    clock = HostClock()
    store = LockStore(state_dir / "padlock.json")
    core = provisioned_core(clock) if provisioned else PadlockCore.factory_new(clock())
    store.save(core)
    options.setdefault("advertising_interval_ms", 20.0)
    lock = PadlockPeripheral(radio.device("padlock"), core, store=store, host_clock=clock, **options)
    await lock.start()
    try:
        yield PadlockRig(clock=clock, store=store, lock=lock, phone_device=await radio.powered_device("phone"))
    finally:
        await lock.stop()
