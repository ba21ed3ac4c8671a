"""Gateways in the registry: registered by a technician or the enterprise, revoked when lost or retired."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.roles import Principal
from cloud.db.base import snapshot
from cloud.db.paging import fetch_page
from cloud.devices.models import DeviceToken, EnrolmentCode, Gateway, GatewayCertificate, GatewayStatus
from cloud.devices.schemas import GatewayCreate, GatewayUpdate
from cloud.errors import Conflict
from cloud.scope import owned_query, visible_enterprise


def create_gateway(db: Session, *, actor: Principal, data: GatewayCreate, now: datetime) -> Gateway:
    enterprise = visible_enterprise(db, actor=actor, enterprise_id=data.enterprise_id)
    if db.get(Gateway, data.id) is not None:
        raise Conflict("a gateway with this id exists", field="id")
    gateway = Gateway(id=data.id, enterprise_id=enterprise.id, name=data.name, status=GatewayStatus.PENDING, epoch=0,
                      created_at=now, updated_at=now)
    db.add(gateway)
    db.flush()
    record(db, actor=actor, action="gateway.create", entity="gateway", entity_id=gateway.id, now=now,
           after=snapshot(gateway))
    return gateway


def list_gateways(db: Session, *, actor: Principal, enterprise_id: int | None, limit: int,
                  offset: int) -> tuple[list[Gateway], int]:
    stmt = owned_query(Gateway, actor)
    if enterprise_id is not None:
        stmt = stmt.where(Gateway.enterprise_id == enterprise_id)
    return fetch_page(db, stmt, order_by=Gateway.id, limit=limit, offset=offset)


def update_gateway(db: Session, *, actor: Principal, gateway: Gateway, data: GatewayUpdate, now: datetime) -> Gateway:
    before = snapshot(gateway)
    for key, value in data.changes().items():
        setattr(gateway, key, value)
    gateway.updated_at = now
    db.flush()
    record(db, actor=actor, action="gateway.update", entity="gateway", entity_id=gateway.id, now=now, before=before,
           after=snapshot(gateway))
    return gateway


def revoke_gateway(db: Session, *, actor: Principal, gateway: Gateway, reason: str, now: datetime) -> Gateway:
    """Take a gateway out of service: its certificates are revoked, its device token and codes deleted."""
    before = snapshot(gateway)
    db.execute(update(GatewayCertificate).where(GatewayCertificate.gateway_id == gateway.id,
                                                GatewayCertificate.revoked_at.is_(None))
               .values(revoked_at=now, revoke_reason=reason or "gateway revoked"))
    db.execute(delete(DeviceToken).where(DeviceToken.gateway_id == gateway.id))
    db.execute(delete(EnrolmentCode).where(EnrolmentCode.gateway_id == gateway.id))
    gateway.status = GatewayStatus.REVOKED
    gateway.updated_at = now
    db.flush()
    record(db, actor=actor, action="gateway.revoke", entity="gateway", entity_id=gateway.id, now=now, before=before,
           after={**snapshot(gateway), "reason": reason})
    return gateway


def list_certificates(db: Session, *, gateway: Gateway) -> list[GatewayCertificate]:
    return list(db.execute(select(GatewayCertificate).where(GatewayCertificate.gateway_id == gateway.id)
                           .order_by(GatewayCertificate.created_at)).scalars())
