"""What the attendant console and the cloud's command handlers need of the gateway — and nothing more.

They depend on these protocols, not on :class:`~edge.daemon.app.Daemon` (which satisfies them), so neither
imports the daemon and a test can drive either against a small stand-in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from edge.core.session_io import SessionInput
from edge.daemon.desk import AlarmDesk
from protocols.commands import TimeSet


class SpacePort(Protocol):
    """Session inputs into a space of this gateway."""

    def has_space(self, space: str) -> bool: ...

    async def step(self, space: str, inputs: Sequence[SessionInput], *,
                   record: Sequence[tuple[str, dict[str, Any]]] = ()) -> None: ...


class CommandPort(SpacePort, Protocol):
    """What the cloud's verified commands act on."""

    @property
    def desk(self) -> AlarmDesk: ...

    def take_time(self, command: TimeSet) -> None: ...

    def padlock_ids(self) -> Sequence[str]: ...

    async def hold_push(self, blob: bytes, keys: Mapping[str, str]) -> None:
        """Keep ``blob`` (a revocation or trust list) under ``keys`` (padlock id → held-push key) and ask each of
        those padlocks' spaces to send it."""
        ...


class ConsolePort(SpacePort, Protocol):
    """What the attendant console offers."""

    @property
    def desk(self) -> AlarmDesk: ...

    def status(self) -> dict[str, Any]: ...

    async def entrant_in(self, space: str, person: str, by: str = "attendant") -> None: ...

    async def entrant_out(self, space: str, person: str, by: str = "attendant") -> None: ...

    async def confirm_entry(self, space: str, by: str) -> None: ...

    async def confirm_empty(self, space: str, by: str) -> None: ...

    async def submit_command(self, data: bytes) -> str: ...

    async def relay_audit(self, lock_id: str, entries: Sequence[bytes]) -> int: ...
