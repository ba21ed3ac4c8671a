"""Session records into ``live_sessions``: each row follows the gateway's order (epoch, seq), whatever order the
batches arrive in."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.registry.space_names import SpaceResolver
from cloud.sessions.models import LiveSession
from cloud.telemetry.sink import Origin
from cloud.wiretime import from_ms
from protocols.uplink.records import SessionRecord

#: Session states after which nobody is inside and nothing runs.
ENDED_STATES = frozenset({"closed", "idle"})


def apply_sessions(db: Session, origin: Origin, records: Sequence[SessionRecord], spaces: SpaceResolver) -> None:
    ids = {r.body.session_id for r in records}
    rows = {row.session_id: row for row in db.execute(
        select(LiveSession).where(LiveSession.gateway_id == origin.gateway_id, LiveSession.session_id.in_(ids))
    ).scalars()}
    for record in records:  # seq order
        body = record.body
        at = from_ms(record.at_ms)
        row = rows.get(body.session_id)
        if row is None:
            row = LiveSession(gateway_id=origin.gateway_id, session_id=body.session_id,
                              enterprise_id=origin.enterprise_id, space_id=spaces.space_id(body.space_id),
                              space_key=body.space_id, opened_at=at, epoch=-1, seq=-1)
            db.add(row)
            rows[body.session_id] = row
        row.opened_at = min(row.opened_at, at)
        if (origin.epoch, record.seq) < (row.epoch, row.seq):
            continue  # an older state arriving late
        row.epoch, row.seq = origin.epoch, record.seq
        row.state = body.state
        row.permit_id = body.permit_id or row.permit_id
        row.entrants = body.entrants
        row.deadline_at = from_ms(body.deadline_ms) if body.deadline_ms is not None else None
        row.updated_at = at
        row.closed_at = at if body.state in ENDED_STATES else None

