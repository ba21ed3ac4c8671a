"""Live operations: the open sessions in the caller's scope, each with the latest gas readings of its space,
its timer and its open alerts — one query per kind of data, whatever the number of sessions."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.alerts.models import Alert, AlertState
from cloud.alerts.schemas import AlertOut
from cloud.auth.roles import Principal
from cloud.db.paging import fetch_page
from cloud.live.schemas import LiveReading, LiveSessionOut
from cloud.registry.models import ConfinedSpace, Enterprise
from cloud.scope import enterprises_filter
from cloud.sessions.models import LiveSession
from cloud.telemetry.models import LatestReading


def _belongs(session: LiveSession, space_key: str | None, space_id: int | None) -> bool:
    return space_key == session.space_key or (space_id is not None and space_id == session.space_id)


def open_sessions(db: Session, *, actor: Principal, now: datetime, district_id: int | None = None,
                  enterprise_id: int | None = None, space_id: int | None = None, limit: int,
                  offset: int) -> tuple[list[LiveSessionOut], int]:
    stmt = (select(LiveSession).join(Enterprise, LiveSession.enterprise_id == Enterprise.id)
            .where(enterprises_filter(actor), LiveSession.closed_at.is_(None)))
    for column, value in ((Enterprise.district_id, district_id), (LiveSession.enterprise_id, enterprise_id),
                          (LiveSession.space_id, space_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    sessions, total = fetch_page(db, stmt.order_by(LiveSession.opened_at), order_by=LiveSession.session_id,
                                 limit=limit, offset=offset)
    gateways = {s.gateway_id for s in sessions}
    readings: dict[str, list[LatestReading]] = defaultdict(list)
    alerts: dict[str, list[Alert]] = defaultdict(list)
    if gateways:
        for r in db.execute(select(LatestReading).where(LatestReading.gateway_id.in_(gateways))
                            .order_by(LatestReading.detector_id, LatestReading.gas)).scalars():
            readings[r.gateway_id].append(r)
        for a in db.execute(select(Alert).where(Alert.gateway_id.in_(gateways), Alert.state != AlertState.RESOLVED)
                            .order_by(Alert.raised_at)).scalars():
            alerts[a.gateway_id or ""].append(a)
    space_ids = {s.space_id for s in sessions if s.space_id is not None}
    names = dict(db.execute(select(ConfinedSpace.id, ConfinedSpace.name).where(ConfinedSpace.id.in_(space_ids))).all()
                 ) if space_ids else {}
    out = []
    for s in sessions:
        remaining = int((s.deadline_at - now).total_seconds()) if s.deadline_at is not None else None
        out.append(LiveSessionOut(
            gateway_id=s.gateway_id, session_id=s.session_id, enterprise_id=s.enterprise_id, space_id=s.space_id,
            space_key=s.space_key, space_name=names.get(s.space_id) if s.space_id is not None else None,
            state=s.state, permit_id=s.permit_id, entrants=s.entrants, opened_at=s.opened_at,
            updated_at=s.updated_at, deadline_at=s.deadline_at, remaining_s=remaining,
            overtime=s.state == "overtime" or (remaining is not None and remaining < 0),
            readings=[LiveReading(detector_id=r.detector_id, gas=r.gas, value=r.value, unit=r.unit,
                                  flags=r.flags or [], at=r.at, age_s=int((now - r.at).total_seconds()))
                      for r in readings[s.gateway_id] if _belongs(s, r.space_key, r.space_id)],
            alarms=[AlertOut.model_validate(a) for a in alerts[s.gateway_id]
                    if a.session_id == s.session_id or _belongs(s, a.space_key, a.space_id)]))
    return out, total
