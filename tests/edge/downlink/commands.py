"""Signed test commands, as the cloud would send them."""

from __future__ import annotations

import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocols import crypto
from protocols.commands import make_command, sign_command
from protocols.vectorgen import seeded_key

GATEWAY = "gw-down-1"
CLOUD_KEY = seeded_key("downlink-test-cloud")
CLOUD_KEYS = {crypto.key_id(CLOUD_KEY): CLOUD_KEY.public_key()}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def alarm_ack(counter: int, *, gateway: str = GATEWAY, key: Ed25519PrivateKey = CLOUD_KEY, kid: bytes | None = None,
              issued_at_ms: int | None = None, lifetime_ms: int = 60_000, alarm_id: str = "alarm-1") -> bytes:
    issued = now_ms() if issued_at_ms is None else issued_at_ms
    body: dict[str, Any] = {"alarm_id": alarm_id, "by": "attendant-12", "at_ms": issued}
    command = make_command({"kind": "alarm_ack", "gateway": gateway, "counter": counter, "issued_at_ms": issued,
                            "expires_at_ms": issued + lifetime_ms, "body": body})
    return sign_command(command, key, kid=crypto.key_id(key) if kid is None else kid)


def time_set(counter: int, *, key: Ed25519PrivateKey = CLOUD_KEY, kid: bytes | None = None,
             lifetime_ms: int = 1000) -> bytes:
    """A ``time`` command as the cloud signs one when it hands it over: now, with a short lifetime."""
    issued = now_ms()
    command = make_command({"kind": "time", "gateway": GATEWAY, "counter": counter, "issued_at_ms": issued,
                            "expires_at_ms": issued + lifetime_ms, "body": {"time_ms": issued}})
    return sign_command(command, key, kid=crypto.key_id(key) if kid is None else kid)
