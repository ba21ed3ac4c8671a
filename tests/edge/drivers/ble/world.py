"""A provisioned padlock simulator on the rig's radio, the gateway's central, and helpers to sign pushes.

Keys are generated per test (no fixed keys); the lock is provisioned in-process, as a technician would have.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bumble.device import Device
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.clocktrust import ClockUntrusted, Distrust, TimeSource, TrustedTime
from edge.drivers.ble import TimeSetSigner
from edge.drivers.ble.bumble_link import BumbleCentral, BumblePadlockLink
from fwsim.lock import PadlockCore, PadlockPeripheral
from protocols import crypto
from protocols.padlock import messages as m
from protocols.padlock.pushes import GAS_ATTESTATION_AAD, GasAttestation, sign_gas_attestation
from protocols.revocation import make_revocation_list, sign_revocation_list

LOCK_ID = bytes.fromhex("5a00000000000001")
SPACE_ID = bytes(range(16))
FAST_ADVERTISING_MS = 20.0
STEP_TIMEOUT_S = 20.0  # generous: the machine is shared


@dataclass
class Keys:
    issuer: Ed25519PrivateKey
    gateway: Ed25519PrivateKey
    rogue: Ed25519PrivateKey  # trusted by nobody

    @classmethod
    def fresh(cls) -> Keys:
        return cls(crypto.generate_private_key(), crypto.generate_private_key(), crypto.generate_private_key())


def provisioned_core(keys: Keys, *, lock_id: bytes = LOCK_ID, now: float | None = None) -> PadlockCore:
    now = time.time() if now is None else now
    core = PadlockCore.factory_new(now)
    provision = m.Provision(lock_id=lock_id, issuer_keys={crypto.key_id(keys.issuer): crypto.public_raw(keys.issuer)},
                            gateway_key=crypto.public_raw(keys.gateway), time=int(now))
    reply = core.handle(provision.encode(), now)
    assert reply.response == m.Result("ok", int(m.MessageType.PROVISION))
    return core


async def start_lock(device: Device, core: PadlockCore, **kw: Any) -> PadlockPeripheral:
    lock = PadlockPeripheral(device, core, advertising_interval_ms=FAST_ADVERTISING_MS, **kw)
    await lock.start()
    return lock


def trusted_clock(offset_s: float = 0.0) -> TrustedTime:
    return TrustedTime(wall_ms=int((time.time() + offset_s) * 1000), uncertainty_ms=200, source=TimeSource.NTP)


def untrusted_clock() -> TrustedTime:
    raise ClockUntrusted("the gateway clock was never set since boot", code=str(Distrust.NEVER_SET))


def signer(keys: Keys, *, trusted: bool = True) -> TimeSetSigner:
    return TimeSetSigner(keys.gateway, trusted_clock if trusted else untrusted_clock)


def attestation(key: Ed25519PrivateKey, *, measured_at: int | None = None, kid_of: Ed25519PrivateKey | None = None,
                all_in_range: bool = True) -> bytes:
    """A gas attestation signed by ``key`` (with the kid of ``kid_of``: a forgery claiming another key)."""
    measured_at = int(time.time()) if measured_at is None else measured_at
    body = GasAttestation(space_id=SPACE_ID, all_in_range=all_in_range, measured_at=measured_at,
                          valid_until=measured_at + 600)
    if kid_of is None:
        return sign_gas_attestation(body, key)
    return crypto.sign1(body.payload(), key, kid=crypto.key_id(kid_of), external_aad=GAS_ATTESTATION_AAD)


def revocation_list(key: Ed25519PrivateKey, *, kid_of: Ed25519PrivateKey, version: int = 1,
                    revoked_count: int = 3) -> bytes:
    """A signed revocation list for the test lock's space; ``revoked_count`` ids make it as large as needed (60 ids
    ≈ 1.3 KB)."""
    now = int(time.time())
    revoked = {index.to_bytes(16, "big"): now - 60 for index in range(1, revoked_count + 1)}
    rl = make_revocation_list(version, now, revoked, space_id=SPACE_ID, lock_ids=[LOCK_ID])
    return sign_revocation_list(rl, key, kid=crypto.key_id(kid_of))


@contextlib.asynccontextmanager
async def gateway_link(central_device: Device, core: PadlockCore, **kw: Any) -> AsyncIterator[BumblePadlockLink]:
    """A started central on ``central_device`` and a link to ``core``'s lock through it."""
    central = BumbleCentral(central_device)
    await central.start()
    kw.setdefault("scan_timeout_s", 3.0)
    link = BumblePadlockLink(central=central, lock_id=core.lock_id, lock_public_key=core.lock_public_key,
                             address=None, **kw)
    try:
        yield link
    finally:
        await link.close()
        await central.close()
