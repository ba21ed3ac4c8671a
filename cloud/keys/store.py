"""The key file: one JSON document, mode 0600, in ``<data_dir>/keys/``, written atomically.

It holds the issuer keys (the current one with its private half, retired ones as public keys only), the
command keys alike, and the device CA's key and certificate. A file readable by group or others is refused,
as ssh refuses a private key anyone can read. There are no default keys: ``safegrid-cloud keys init`` makes them.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocols import crypto

KEYS_DIRNAME = "keys"
KEYRING_FILENAME = "keyring.json"
FORMAT_VERSION = 1


class KeyFileError(Exception):
    """The key file is missing, unreadable, too open, or not a key file."""


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 key of a kind; ``private`` is None once the key is retired (it only verifies then)."""

    kid: bytes
    public: Ed25519PublicKey = field(compare=False)
    private: Ed25519PrivateKey | None = field(compare=False)
    created_at: int  # unix seconds
    retired_at: int | None = None

    @classmethod
    def generate(cls, *, now: int) -> SigningKey:
        private = crypto.generate_private_key()
        return cls(kid=crypto.key_id(private), public=private.public_key(), private=private, created_at=now)

    def retired(self, *, now: int) -> SigningKey:
        return replace(self, private=None, retired_at=now)

    def to_json(self) -> dict[str, Any]:
        return {"kid": self.kid.hex(), "public": crypto.public_raw(self.public).hex(),
                "private": crypto.private_raw(self.private).hex() if self.private is not None else None,
                "created_at": self.created_at, "retired_at": self.retired_at}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> SigningKey:
        private = crypto.private_key_from_raw(bytes.fromhex(value["private"])) if value["private"] else None
        public = crypto.public_key_from_raw(bytes.fromhex(value["public"]))
        if private is not None and crypto.public_raw(private) != crypto.public_raw(public):
            raise KeyFileError(f"key {value['kid']}: the private and public halves differ")
        return cls(kid=bytes.fromhex(value["kid"]), public=public, private=private,
                   created_at=int(value["created_at"]), retired_at=value["retired_at"])


@dataclass(frozen=True)
class KeyFile:
    """The whole file's content: newest key of each kind last."""

    issuer: tuple[SigningKey, ...]
    command: tuple[SigningKey, ...]
    ca_key_pem: bytes
    ca_cert_pem: bytes

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT_VERSION, "issuer": [k.to_json() for k in self.issuer],
                "command": [k.to_json() for k in self.command],
                "ca": {"key_pem": self.ca_key_pem.decode("ascii"), "cert_pem": self.ca_cert_pem.decode("ascii")}}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> KeyFile:
        if value.get("format") != FORMAT_VERSION:
            raise KeyFileError(f"unknown key file format {value.get('format')!r}")
        return cls(issuer=tuple(SigningKey.from_json(k) for k in value["issuer"]),
                   command=tuple(SigningKey.from_json(k) for k in value["command"]),
                   ca_key_pem=value["ca"]["key_pem"].encode("ascii"),
                   ca_cert_pem=value["ca"]["cert_pem"].encode("ascii"))


def keyring_path(keys_dir: Path) -> Path:
    return keys_dir / KEYRING_FILENAME


def read_key_file(path: Path) -> KeyFile:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"no key file at {path}: run `safegrid-cloud keys init`") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} is accessible by group or others (mode {stat.S_IMODE(mode):o}): chmod 600 it")
    try:
        return KeyFile.from_json(json.loads(path.read_text(encoding="utf-8")))
    except KeyFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a readable key file: {exc}") from exc


def write_key_file(path: Path, content: KeyFile) -> None:
    """Replace the file atomically; the new file is created 0600 before any secret is written into it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(content.to_json(), out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
