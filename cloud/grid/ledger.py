"""What grid officers check on the confined-space ledger: spaces of enterprises in a grid that lack a gateway
watching them, a padlock on the hatch, or rescue guidance on their card.

"Watched by a gateway" means a gas detector in the space wired to an *active* gateway: a pending or revoked
gateway reports nothing, so it counts as none (a missing reading is never safe).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.devices.models import Detector, Gateway, GatewayStatus, Padlock
from cloud.registry.models import ConfinedSpace, Enterprise, Grid

GAPS = ("gateway", "padlock", "rescue_guidance")


@dataclass(frozen=True)
class SpaceGap:
    enterprise_id: int
    enterprise_name: str
    space_id: int
    space_code: str
    space_name: str
    missing: list[str]


def missing(*, watched: bool, padlocked: bool, rescue_notes: str) -> list[str]:
    """The gaps of one space, in ``GAPS`` order."""
    flags = {"gateway": not watched, "padlock": not padlocked, "rescue_guidance": not rescue_notes.strip()}
    return [gap for gap in GAPS if flags[gap]]


def grid_space_gaps(db: Session, *, grid: Grid) -> list[SpaceGap]:
    """Every space of the grid's enterprises with at least one gap, by enterprise then space code."""
    watched = select(Detector.space_id).join(Gateway, Gateway.id == Detector.gateway_id).where(
        Gateway.status == GatewayStatus.ACTIVE)
    padlocked = select(Padlock.space_id)
    rows = db.execute(
        select(Enterprise.id, Enterprise.name, ConfinedSpace.id, ConfinedSpace.code, ConfinedSpace.name,
               ConfinedSpace.id.in_(watched), ConfinedSpace.id.in_(padlocked), ConfinedSpace.rescue_notes)
        .join(ConfinedSpace, ConfinedSpace.enterprise_id == Enterprise.id)
        .where(Enterprise.grid_id == grid.id)
        .order_by(Enterprise.id, ConfinedSpace.code)).all()
    out: list[SpaceGap] = []
    for eid, ename, sid, code, sname, is_watched, is_padlocked, notes in rows:
        gaps = missing(watched=bool(is_watched), padlocked=bool(is_padlocked), rescue_notes=notes)
        if gaps:
            out.append(SpaceGap(enterprise_id=eid, enterprise_name=ename, space_id=sid, space_code=code,
                                space_name=sname, missing=gaps))
    return out
