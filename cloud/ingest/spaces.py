"""Which registered confined space a gateway means by the ``space_id`` of its records.

A gateway names a space by the registry's numeric id or by the enterprise's own space code, and only spaces of
its own enterprise count: a gateway can never attach data to another enterprise's space. Unknown names are
kept as the gateway sent them (``space_key``) with no registry link.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

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
            match = ConfinedSpace.code == key
            if key.isdigit() and len(key) < 10:
                match = or_(match, ConfinedSpace.id == int(key))
            rows = self._db.execute(select(ConfinedSpace).where(ConfinedSpace.enterprise_id == self._enterprise_id,
                                                                match)).scalars().all()
            # An id match wins over a code that happens to be digits.
            exact = [s for s in rows if key.isdigit() and s.id == int(key)] or rows
            self._cache[key] = exact[0] if exact else None
        return self._cache[key]

    def space_id(self, key: str | None) -> int | None:
        space = self.space(key)
        return space.id if space is not None else None
