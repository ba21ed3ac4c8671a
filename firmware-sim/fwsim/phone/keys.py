"""The worker's holder key on the phone: an Ed25519 key generated on first use, stored owner-only (0600).

The cloud binds each permit token to this key's public half (``cnf``); only a signature by the private
half over the padlock's fresh challenge opens the lock, so a copied token alone is useless.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocols import crypto
from protocols.errors import ProtocolError
from safegrid.files import write_private_file


def load_or_create_worker_key(path: Path) -> Ed25519PrivateKey:
    """The key stored at ``path`` (hex of the 32-byte private key), or a new random one saved there (0600)."""
    path = Path(path)
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise PermissionError(f"{path}: the worker key must be readable by its owner only (chmod 600)")
        text = path.read_text(encoding="ascii").strip()
        try:
            return crypto.private_key_from_raw(bytes.fromhex(text))
        except (ValueError, ProtocolError) as exc:
            raise ValueError(f"{path}: not a worker key file") from exc
    key = crypto.generate_private_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_file(path, crypto.private_raw(key).hex().encode() + b"\n")
    return key


def public_key_hex(key: Ed25519PrivateKey) -> str:
    """The public key to enrol with the cloud (it goes into the token's ``cnf``)."""
    return crypto.public_raw(key).hex()
