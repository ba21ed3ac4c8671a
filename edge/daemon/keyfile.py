"""The gateway's own Ed25519 key: it signs gas attestations for the padlocks and the heads of the local log."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.errors import EdgeError


class KeyFileError(EdgeError):
    default_code = "bad_key_file"


def load_gateway_key(path: Path) -> Ed25519PrivateKey:
    """A PEM (PKCS#8, unencrypted) or raw 32-byte Ed25519 private key; KeyFileError saying why otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the gateway key: {exc.strerror or exc}", field="gateway.key_file"
                           ) from None
    if len(data) == 32:
        return Ed25519PrivateKey.from_private_bytes(data)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a PEM private key or 32 raw bytes ({exc})", field="gateway.key_file"
                           ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: the gateway key must be Ed25519", field="gateway.key_file")
    return key


def key_pem(key: Ed25519PrivateKey) -> bytes:
    """The PEM form :func:`load_gateway_key` reads (for provisioning and the demo)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
