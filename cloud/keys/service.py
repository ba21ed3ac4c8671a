"""The cloud's signing keys as the services use them: the current issuer key (permit tokens, revocation and
trust lists), every issuer public key a token may still verify with, the command key, the device CA.

Rotation: ``rotate`` makes a new current key and retires the old one, keeping its public half. A retired
issuer key stays trusted for ``ISSUER_RETENTION`` — a token signed just before the rotation can be for a
work window starting up to ``MAX_LEAD`` later and lasting ``MAX_WINDOW`` — so old tokens verify until they
expire. A ``KeyStore`` re-reads the file when it changes, so a rotation by the command line reaches every
running API worker without a restart.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cloud.errors import CloudError
from cloud.keys.ca import generate_ca
from cloud.keys.store import (
    KEYS_DIRNAME,
    KeyFile,
    KeyFileError,
    SigningKey,
    keyring_path,
    read_key_file,
    write_key_file,
)
from protocols import crypto

#: How far ahead of its approval a permit's work window may start, and how long the window may last.
MAX_LEAD = timedelta(days=7)
MAX_WINDOW = timedelta(hours=24)
#: How long a retired issuer key keeps verifying (the longest a token signed by it can stay valid, plus slack).
ISSUER_RETENTION = MAX_LEAD + MAX_WINDOW + timedelta(hours=1)
#: A retired command key: commands live at most 7 days (protocols.commands.MAX_LIFETIME_MS).
COMMAND_RETENTION = timedelta(days=7, hours=1)

KeyKind = Literal["issuer", "command"]


class KeysUnavailable(CloudError):
    status = 503
    default_code = "keys_unavailable"


@dataclass(frozen=True)
class Keyring:
    """A snapshot of the key file."""

    content: KeyFile

    @staticmethod
    def _current(keys: tuple[SigningKey, ...]) -> SigningKey:
        key = keys[-1]
        assert key.private is not None and key.retired_at is None
        return key

    @property
    def issuer(self) -> SigningKey:
        return self._current(self.content.issuer)

    @property
    def command(self) -> SigningKey:
        return self._current(self.content.command)

    @property
    def issuer_private(self) -> Ed25519PrivateKey:
        assert self.issuer.private is not None
        return self.issuer.private

    @property
    def command_private(self) -> Ed25519PrivateKey:
        assert self.command.private is not None
        return self.command.private

    def issuer_keys(self, *, now: datetime) -> dict[bytes, Ed25519PublicKey]:
        """Every issuer key a token may still verify with at ``now``: the current one and recently retired."""
        return _trusted(self.content.issuer, now=now, retention=ISSUER_RETENTION)

    def command_keys(self, *, now: datetime) -> dict[bytes, Ed25519PublicKey]:
        return _trusted(self.content.command, now=now, retention=COMMAND_RETENTION)

    @property
    def ca_key_pem(self) -> bytes:
        return self.content.ca_key_pem

    @property
    def ca_cert_pem(self) -> bytes:
        return self.content.ca_cert_pem


def _trusted(keys: tuple[SigningKey, ...], *, now: datetime, retention: timedelta) -> dict[bytes, Ed25519PublicKey]:
    cutoff = int((now - retention).timestamp())
    return {k.kid: k.public for k in keys if k.retired_at is None or k.retired_at > cutoff}


def keys_dir(data_dir: Path) -> Path:
    return data_dir / KEYS_DIRNAME


def init_keys(directory: Path, *, now: datetime) -> Keyring:
    """Create the key file with fresh keys; refuses to overwrite an existing one (that would orphan every token)."""
    path = keyring_path(directory)
    if path.exists():
        raise KeyFileError(f"{path} exists: use `safegrid-cloud keys rotate` to change keys")
    ts = int(now.timestamp())
    ca_key_pem, ca_cert_pem = generate_ca(now=now)
    content = KeyFile(issuer=(SigningKey.generate(now=ts),), command=(SigningKey.generate(now=ts),),
                      ca_key_pem=ca_key_pem, ca_cert_pem=ca_cert_pem)
    write_key_file(path, content)
    return Keyring(content)


def rotate(directory: Path, kind: KeyKind, *, now: datetime) -> Keyring:
    """Retire the current key of ``kind`` (its public half stays) and make a new current one."""
    path = keyring_path(directory)
    content = read_key_file(path)
    ts = int(now.timestamp())
    keys = getattr(content, kind)
    rotated = (*keys[:-1], keys[-1].retired(now=ts), SigningKey.generate(now=ts))
    content = replace(content, issuer=rotated) if kind == "issuer" else replace(content, command=rotated)
    write_key_file(path, content)
    return Keyring(content)


class KeyStore:
    """The key file of one data directory, re-read whenever it changed on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keyring: Keyring | None = None

    def keyring(self) -> Keyring:
        """The current keys, or 503 ``keys_unavailable`` when they were never initialised or cannot be read."""
        path = keyring_path(self.directory)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise KeysUnavailable("the cloud has no keys yet: run `safegrid-cloud keys init`") from None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if stamp != self._stamp or self._keyring is None:
                try:
                    self._keyring = Keyring(read_key_file(path))
                except KeyFileError as exc:
                    raise KeysUnavailable(str(exc)) from exc
                self._stamp = stamp
            return self._keyring


_default: KeyStore | None = None


def install(store: KeyStore) -> KeyStore:
    """Make ``store`` the process's key store (the app factory and the worker commands do this at start)."""
    global _default
    _default = store
    return store


def current_store() -> KeyStore:
    if _default is None:
        raise KeysUnavailable("no key store is configured in this process")
    return _default


def public_key_hex(key: Ed25519PublicKey) -> str:
    return crypto.public_raw(key).hex()
