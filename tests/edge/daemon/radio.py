"""The site's padlock on the virtual radio: the padlock simulator provisioned for the test site, the daemon's config
pointed at it over a bumble HCI transport, and a permit token for the worker's phone (the padlock protocol's own
code throughout). Shared by the daemon's radio test and the scripted operation.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.config import EdgeConfig
from fwsim.lock import PadlockCore, PadlockPeripheral
from fwsim.lock.radio import hci_device
from fwsim.stage.edge_site import ENTERPRISE, LOCK, PERMIT, SPACE, WORKER, Site
from protocols import crypto
from protocols.padlock import messages as m
from protocols.token import PermitClaims, issue_token


def lock_core(site: Site, issuer: Ed25519PrivateKey) -> PadlockCore:
    """A factory-new lock provisioned by the technician for this site: its id, the issuer, the gateway's key."""
    now = time.time()
    core = PadlockCore.factory_new(now)
    provision = m.Provision(lock_id=bytes.fromhex(LOCK), issuer_keys={crypto.key_id(issuer): crypto.public_raw(issuer)},
                            gateway_key=crypto.public_raw(site.gateway_key), time=int(now))
    assert core.handle(provision.encode(), now).response == m.Result("ok", int(m.MessageType.PROVISION))
    return core


def radio_config(config: EdgeConfig, core: PadlockCore, hci: str) -> EdgeConfig:
    """``config`` with the site's padlock reached over the radio at ``hci`` (its key: the provisioned lock's)."""
    lock = config.padlocks[0].model_copy(update={"backend": "bumble", "hci": hci,
                                                 "public_key": core.lock_public_key.hex()})
    return config.model_copy(update={"padlocks": [lock]})


def token_for(issuer: Ed25519PrivateKey, holder: Ed25519PrivateKey, *, max_duration_s: int = 1200) -> bytes:
    """A permit token for the site's permit, bound to the phone key ``holder``."""
    now = int(time.time())
    claims = PermitClaims(iss="test-cloud", sub="worker", iat=now, nbf=now - 60, exp=now + 3600, cti=os.urandom(16),
                          holder_key=crypto.public_raw(holder), permit_id=bytes.fromhex(PERMIT),
                          enterprise_id=bytes.fromhex(ENTERPRISE), space_id=bytes.fromhex(SPACE),
                          worker_id=bytes.fromhex(WORKER), lock_ids=(bytes.fromhex(LOCK),), window_start=now - 60,
                          window_end=now + 3600, max_duration_s=max_duration_s, entrant_limit=2,
                          gas_test_required=True, drill=False)
    return issue_token(claims, issuer, kid=crypto.key_id(issuer))


@asynccontextmanager
async def padlock_on(spec: str, core: PadlockCore) -> AsyncIterator[PadlockPeripheral]:
    """The padlock advertising on the HCI transport ``spec`` (fast, so a central connects at once)."""
    async with hci_device(spec, "padlock") as device:
        lock = PadlockPeripheral(device, core, advertising_interval_ms=20.0)
        await lock.start()
        try:
            yield lock
        finally:
            await lock.stop()
