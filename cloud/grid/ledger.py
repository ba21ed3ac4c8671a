"""What grid officers check on the confined-space ledger: spaces of enterprises in a grid that lack a gateway
watching them, a padlock on the hatch, or rescue guidance on their card.

"Watched by a gateway" means a gas detector in the space wired to an *active* gateway: a pending or revoked
gateway reports nothing, so it counts as none (a missing reading is never safe).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass

from sqlalchemy import ColumnElement, select
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


@dataclass(frozen=True)
class LedgerRow:
    """One confined space of the ledger (有限空间台账) with what guards it."""

    grid_code: str
    enterprise_id: int
    uscc: str
    enterprise_name: str
    space_id: int
    space_code: str
    space_name: str
    space_type: str
    location: str
    hazards: list[str]
    gas_profile: str
    watched: bool
    padlocked: bool
    rescue_guidance: bool

    @property
    def missing(self) -> list[str]:
        return missing(watched=self.watched, padlocked=self.padlocked,
                       rescue_notes="x" if self.rescue_guidance else "")


def space_ledger(db: Session, *, area: ColumnElement[bool]) -> list[LedgerRow]:
    """Every confined space of the enterprises matching ``area`` (a condition on ``Enterprise``), by grid,
    enterprise and space code."""
    watched = select(Detector.space_id).join(Gateway, Gateway.id == Detector.gateway_id).where(
        Gateway.status == GatewayStatus.ACTIVE)
    rows = db.execute(
        select(Grid.code, Enterprise.id, Enterprise.uscc, Enterprise.name, ConfinedSpace.id, ConfinedSpace.code,
               ConfinedSpace.name, ConfinedSpace.space_type, ConfinedSpace.location, ConfinedSpace.hazards,
               ConfinedSpace.gas_profile, ConfinedSpace.id.in_(watched),
               ConfinedSpace.id.in_(select(Padlock.space_id)), ConfinedSpace.rescue_notes)
        .join(Enterprise, ConfinedSpace.enterprise_id == Enterprise.id)
        .join(Grid, Grid.id == Enterprise.grid_id)
        .where(area)
        .order_by(Grid.code, Enterprise.id, ConfinedSpace.code)).all()
    return [LedgerRow(grid_code=g, enterprise_id=eid, uscc=uscc, enterprise_name=ename, space_id=sid,
                      space_code=code, space_name=sname, space_type=stype, location=loc, hazards=list(hazards),
                      gas_profile=profile, watched=bool(w), padlocked=bool(p), rescue_guidance=bool(notes.strip()))
            for g, eid, uscc, ename, sid, code, sname, stype, loc, hazards, profile, w, p, notes in rows]


def grid_space_gaps(db: Session, *, grid: Grid) -> list[SpaceGap]:
    """Every space of the grid's enterprises with at least one gap, by enterprise then space code."""
    rows = sorted(space_ledger(db, area=Enterprise.grid_id == grid.id), key=lambda r: (r.enterprise_id,
                                                                                     r.space_code))
    return [SpaceGap(enterprise_id=r.enterprise_id, enterprise_name=r.enterprise_name, space_id=r.space_id,
                     space_code=r.space_code, space_name=r.space_name, missing=r.missing)
            for r in rows if r.missing]


LEDGER_COLUMNS = ("grid_code", "uscc", "enterprise_name", "space_code", "space_name", "space_type", "location",
                  "hazards", "gas_profile", "watched", "padlocked", "rescue_guidance")


def ledger_csv(rows: list[LedgerRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LEDGER_COLUMNS)
    for r in rows:
        values = asdict(r)
        values["hazards"] = ";".join(r.hazards)
        writer.writerow([values[c] for c in LEDGER_COLUMNS])
    return out.getvalue()
