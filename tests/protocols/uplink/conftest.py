"""Fixtures of the uplink tests: a fresh random cloud command key and its trusted-key map."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocols import crypto


@pytest.fixture(scope="session")
def cloud_key() -> Ed25519PrivateKey:
    return crypto.generate_private_key()


@pytest.fixture(scope="session")
def cloud_keys(cloud_key: Ed25519PrivateKey) -> dict[bytes, Ed25519PublicKey]:
    return {crypto.key_id(cloud_key): cloud_key.public_key()}
