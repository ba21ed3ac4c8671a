"""The last accepted counter of each downlink channel, kept durably so a restart cannot re-accept a replay.

A small SQLite file (WAL, ``synchronous=FULL``): a counter is on disk before the command it belongs to is
acted on. Counters only ever go up.
"""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from protocols.commands import ACK_CHANNEL, DOWN_CHANNEL, Channel

_SCHEMA = "CREATE TABLE IF NOT EXISTS counters (channel TEXT PRIMARY KEY, counter INTEGER NOT NULL)"


class CounterStore:
    """Create with :meth:`open`; :meth:`last` is answered from memory, :meth:`advance` writes through."""

    def __init__(self, conn: aiosqlite.Connection, counters: dict[str, int]) -> None:
        self._conn = conn
        self._counters = counters

    @classmethod
    async def open(cls, path: str | Path) -> CounterStore:
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=FULL")
            await conn.execute(_SCHEMA)
            rows = await conn.execute_fetchall("SELECT channel, counter FROM counters")
        except BaseException:
            await conn.close()
            raise
        counters = {ACK_CHANNEL: 0, DOWN_CHANNEL: 0} | {str(channel): int(counter) for channel, counter in rows}
        return cls(conn, counters)

    def last(self, channel: Channel) -> int:
        """The last counter accepted on ``channel`` (0: none yet)."""
        return self._counters[channel]

    async def advance(self, channel: Channel, counter: int) -> None:
        """Record ``counter`` as accepted on ``channel`` (durably, before returning). Never goes down."""
        if counter <= self._counters[channel]:
            raise ValueError(f"counter {counter} is not above {self._counters[channel]} on {channel}")
        await self._conn.execute(
            "INSERT INTO counters VALUES (?, ?) ON CONFLICT(channel) DO UPDATE SET counter = excluded.counter "
            "WHERE excluded.counter > counters.counter", (channel, counter))
        self._counters[channel] = counter

    async def close(self) -> None:
        await self._conn.close()
