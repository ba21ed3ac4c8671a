"""Which registered confined space a gateway means by the ``space_id`` of its records.

A gateway names a space by the registry's numeric id, by the space's wire uid (the 16-byte id in permit tokens,
in hex: what an edge configured from a token uses) or by the enterprise's own space code, and only spaces of
its own enterprise count: a gateway can never attach data to another enterprise's space. Unknown names are
kept as the gateway sent them (``space_key``) with no registry link.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cloud.registry.ids import space_id_from_uid
from cloud.registry.models import ConfinedSpace


class SpaceResolver:
    """Looks each name up once per batch."""

    def __init__(self, db: Session, *, enterprise_id: int) -> None:
        self._db = db
        self._enterprise_id = enterprise_id
        self._cache: dict[str, ConfinedSpace | None] = {}

    def space(self, key: str | None) -> ConfinedSpace | None:
        if key is None:
            return None
        if key not in self._cache:
            by_id = int(key) if key.isdigit() and len(key) < 10 else space_id_from_uid(key)
            match = ConfinedSpace.code == key
            if by_id is not None:
                match = or_(match, ConfinedSpace.id == by_id)
            rows = self._db.execute(select(ConfinedSpace).where(ConfinedSpace.enterprise_id == self._enterprise_id,
                                                                match)).scalars().all()
            # An id (or uid) match wins over a code that happens to look like one.
            exact = [s for s in rows if s.id == by_id] or rows
            self._cache[key] = exact[0] if exact else None
        return self._cache[key]

    def space_id(self, key: str | None) -> int | None:
        space = self.space(key)
        return space.id if space is not None else None
