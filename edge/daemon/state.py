"""The daemon's persisted state: sessions (with their deadlines and deferred padlock pushes), latched alarms,
padlock chain cursors, and the revocation and trust lists held for those deferred pushes (``held_pushes``: kind →
base64url of the signed bytes, so a push deferred until a session closes survives a restart).

One small JSON file, replaced atomically (written, fsynced, renamed) whenever it changes, so after a crash or a
power cut it holds either the previous state or the new one. Records live in the outbox; this file holds only
what the daemon needs to resume: a session in progress, its deadline, the alarms still latched. A file that
cannot be read raises :class:`StateError`; the daemon then moves it aside and treats every space as possibly
occupied (:mod:`edge.daemon.recovery`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edge.errors import EdgeError
from safegrid.files import write_private_file

VERSION = 1


class StateError(EdgeError):
    default_code = "state_unreadable"


class StateFile:
    """``load()`` once at start; ``save(data)`` writes only when ``data`` differs from what is on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: bytes | None = None
        self.writes = 0

    def load(self) -> dict[str, Any] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(raw)
        except ValueError as exc:
            # Never silently forget a session with people inside: the caller treats the state as lost.
            raise StateError(f"{self.path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            version = data.get("version") if isinstance(data, dict) else None
            raise StateError(f"{self.path}: unknown state version {version!r}")
        if not isinstance(data.get("alarms"), dict):
            raise StateError(f"{self.path}: no alarms in the state")
        self._last = raw
        return data

    def save(self, data: dict[str, Any]) -> bool:
        raw = json.dumps({"version": VERSION, **data}, sort_keys=True, separators=(",", ":")).encode()
        if raw == self._last:
            return False
        write_private_file(self.path, raw)
        self._last = raw
        self.writes += 1
        return True
