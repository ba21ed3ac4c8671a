"""The padlock's non-volatile memory: its whole state in one JSON file, replaced atomically (0600).

The file holds the lock's private key, so it is the lock's identity: copying it clones the lock.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from fwsim.lock.core import PadlockCore, RandomBytes
from protocols.errors import ProtocolError
from safegrid.files import write_private_file


class LockStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.exists()

    def load(self, *, random_bytes: RandomBytes = secrets.token_bytes) -> PadlockCore:
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
            return PadlockCore.from_record(record, random_bytes=random_bytes)
        except (ValueError, KeyError, TypeError, AttributeError, ProtocolError) as exc:
            raise ValueError(f"{self.path}: not a padlock state file ({exc})") from exc

    def load_or_create(self, host: float, *, random_bytes: RandomBytes = secrets.token_bytes) -> PadlockCore:
        """The stored lock, or a factory-new one (random key and id, provisioning mode), saved at once."""
        if self.exists():
            return self.load(random_bytes=random_bytes)
        core = PadlockCore.factory_new(host, random_bytes=random_bytes)
        self.save(core)
        return core

    def save(self, core: PadlockCore) -> None:
        write_private_file(self.path, json.dumps(core.to_record(), separators=(",", ":")).encode())
