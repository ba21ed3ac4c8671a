"""Padlocks and gas detectors: each guards one confined space and is served by one gateway of its enterprise.

The space decides the enterprise (copied onto the row for scope filters); a gateway named for a device must
belong to that same enterprise. The gateways serving a space are those of its padlocks and detectors: permit
pushes and revocations go to them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.roles import Principal
from cloud.db.base import snapshot
from cloud.db.paging import fetch_page
from cloud.devices.models import Detector, Gateway, GatewayStatus, Padlock
from cloud.devices.schemas import DetectorCreate, DetectorUpdate, DeviceStatus, PadlockCreate, PadlockUpdate
from cloud.errors import Conflict, InvalidInput
from cloud.scope import owned_query, visible_space

D = TypeVar("D", Padlock, Detector)
_ENTITY: dict[type[Any], str] = {Padlock: "padlock", Detector: "detector"}


def _check_gateway(db: Session, *, gateway_id: str | None, enterprise_id: int) -> None:
    if gateway_id is None:
        return
    gateway = db.get(Gateway, gateway_id)
    if gateway is None or gateway.enterprise_id != enterprise_id:
        raise InvalidInput("no such gateway in the space's enterprise", field="gateway_id")
    if gateway.status == GatewayStatus.REVOKED:
        raise InvalidInput("the gateway is revoked", field="gateway_id")


def _check_unique(db: Session, row: Padlock | Detector) -> None:
    if isinstance(row, Padlock):
        clash = select(Padlock.id).where(Padlock.lock_id == row.lock_id, Padlock.id != row.id)
        field = "lock_id"
    else:
        clash = select(Detector.id).where(Detector.gateway_id == row.gateway_id, Detector.bus == row.bus,
                                          Detector.unit_id == row.unit_id, Detector.id != row.id)
        field = "unit_id"
    if db.execute(clash).first() is not None:
        raise Conflict(f"another {_ENTITY[type(row)]} has this " + ("lock id" if field == "lock_id" else
                                                                     "bus and unit on the gateway"), field=field)


def create_device(db: Session, *, actor: Principal, data: PadlockCreate | DetectorCreate, now: datetime) -> Any:
    space = visible_space(db, actor=actor, space_id=data.space_id)
    _check_gateway(db, gateway_id=data.gateway_id, enterprise_id=space.enterprise_id)
    model = Padlock if isinstance(data, PadlockCreate) else Detector
    row = model(**data.model_dump(mode="json"), enterprise_id=space.enterprise_id, status=DeviceStatus.ACTIVE.value,
                created_at=now, updated_at=now)
    _check_unique(db, row)
    db.add(row)
    db.flush()
    entity = _ENTITY[model]
    record(db, actor=actor, action=f"{entity}.create", entity=entity, entity_id=row.id, now=now, after=snapshot(row))
    return row


def list_devices(db: Session, *, model: type[D], actor: Principal, space_id: int | None, gateway_id: str | None,
                 limit: int, offset: int) -> tuple[list[D], int]:
    stmt = owned_query(model, actor)
    if space_id is not None:
        stmt = stmt.where(model.space_id == space_id)
    if gateway_id is not None:
        stmt = stmt.where(model.gateway_id == gateway_id)
    return fetch_page(db, stmt, order_by=model.id, limit=limit, offset=offset)


def update_device(db: Session, *, row: D, actor: Principal, data: PadlockUpdate | DetectorUpdate,
                  now: datetime) -> D:
    model = type(row)
    changes = data.model_dump(mode="json", exclude_unset=True)
    if "space_id" in changes:
        space = visible_space(db, actor=actor, space_id=changes["space_id"])
        if space.enterprise_id != row.enterprise_id:
            raise InvalidInput("a device stays in its enterprise", field="space_id")
    before = snapshot(row)
    for key, value in changes.items():
        setattr(row, key, value)
    _check_gateway(db, gateway_id=row.gateway_id if "gateway_id" in changes else None,
                   enterprise_id=row.enterprise_id)
    _check_unique(db, row)
    row.updated_at = now
    db.flush()
    entity = _ENTITY[model]
    record(db, actor=actor, action=f"{entity}.update", entity=entity, entity_id=row.id, now=now, before=before,
           after=snapshot(row))
    return row


def delete_device(db: Session, *, row: Padlock | Detector, actor: Principal, now: datetime) -> None:
    model, device_id = type(row), row.id
    before = snapshot(row)
    db.delete(row)
    db.flush()
    entity = _ENTITY[model]
    record(db, actor=actor, action=f"{entity}.delete", entity=entity, entity_id=device_id, now=now, before=before)


def space_padlocks(db: Session, space_id: int) -> list[Padlock]:
    """The space's padlocks in service, by lock id."""
    return list(db.execute(select(Padlock).where(Padlock.space_id == space_id,
                                                 Padlock.status == DeviceStatus.ACTIVE.value)
                           .order_by(Padlock.lock_id)).scalars())


def space_gateways(db: Session, space_id: int) -> list[str]:
    """Ids of the gateways (not revoked) serving the space's padlocks or detectors."""
    ids: set[str] = set()
    for model in (Padlock, Detector):
        found = db.execute(select(model.gateway_id).join(Gateway, Gateway.id == model.gateway_id)
                           .where(model.space_id == space_id, Gateway.status != GatewayStatus.REVOKED)).scalars()
        ids.update(g for g in found if g is not None)  # the join already drops unassigned devices: narrows the type
    return sorted(ids)
