"""Issuing an approved permit: one permit token per entrant (``protocols.token``), bound to the entrant's phone
key and the space's padlocks, and a signed ``permit_issued`` command to every gateway serving the space, so the
gateway knows the window and deadline before the padlock reports anything."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cloud.devices.hardware_service import space_gateways, space_padlocks
from cloud.downlink.service import enqueue_command
from cloud.errors import Conflict
from cloud.keys.service import Keyring
from cloud.permits.models import Permit, PermitToken
from cloud.permits.schemas import PermitKind
from cloud.registry.ids import enterprise_uid, space_uid
from cloud.workers.models import Worker
from protocols.token import MAX_DURATION_S, MAX_LOCKS, PermitClaims, issue_token

#: The ``iss`` claim of every SafeGrid cloud token.
ISSUER = "safegrid-cloud"
#: A permit push outlives the window's end a little, for a gateway that was briefly offline.
PUSH_GRACE = timedelta(minutes=10)


def _seconds(at: datetime) -> int:
    return int(at.timestamp())


def token_claims(permit: Permit, worker: Worker, *, lock_ids: tuple[bytes, ...], now: datetime) -> PermitClaims:
    assert worker.phone_key is not None
    return PermitClaims(
        iss=ISSUER, sub=worker.uid, iat=_seconds(now), nbf=min(_seconds(now), _seconds(permit.work_start)),
        exp=_seconds(permit.work_end), cti=secrets.token_bytes(16), holder_key=bytes.fromhex(worker.phone_key),
        permit_id=bytes.fromhex(permit.uid), enterprise_id=enterprise_uid(permit.enterprise_id),
        space_id=space_uid(permit.space_id), worker_id=bytes.fromhex(worker.uid), lock_ids=lock_ids,
        window_start=_seconds(permit.work_start), window_end=_seconds(permit.work_end),
        max_duration_s=min(permit.max_continuous_minutes * 60, MAX_DURATION_S), entrant_limit=permit.entrant_limit,
        gas_test_required=permit.gas_test_required, drill=permit.kind == PermitKind.DRILL.value)


def command_claims(claims: PermitClaims, *, ventilation_required: bool) -> dict[str, object]:
    """The claims as a gateway gets them in ``permit_issued`` / ``permit_revoked`` (protocols.commands)."""
    return {"permit_id": claims.permit_id.hex(), "token_id": claims.cti.hex(),
            "enterprise_id": claims.enterprise_id.hex(), "space_id": claims.space_id.hex(),
            "lock_ids": [lock.hex() for lock in claims.lock_ids], "worker_id": claims.worker_id.hex(),
            "not_before_ms": claims.window_start * 1000, "not_after_ms": claims.window_end * 1000,
            "max_continuous_ms": claims.max_duration_s * 1000, "entrant_limit": claims.entrant_limit,
            "gas_test_required": claims.gas_test_required, "ventilation_required": ventilation_required,
            "drill": claims.drill}


def issue_permit(db: Session, *, permit: Permit, entrants: list[Worker], keyring: Keyring,
                 now: datetime) -> list[PermitToken]:
    """Sign a token per entrant, store them, and queue the permit push to the space's gateways."""
    locks = space_padlocks(db, permit.space_id)
    if not locks:
        raise Conflict("the confined space has no padlock in service: register one first", field="space_id")
    lock_ids = tuple(bytes.fromhex(p.lock_id) for p in locks[:MAX_LOCKS])
    gateways = space_gateways(db, permit.space_id)
    ttl = permit.work_end - now + PUSH_GRACE
    issued = []
    for worker in entrants:
        claims = token_claims(permit, worker, lock_ids=lock_ids, now=now)
        token = issue_token(claims, keyring.issuer_private, kid=keyring.issuer.kid)
        row = PermitToken(permit_id=permit.id, worker_id=worker.id, cti=claims.cti.hex(), kid=keyring.issuer.kid.hex(),
                          iat=claims.iat, exp=claims.exp, token=token)
        db.add(row)
        issued.append(row)
        body = {"claims": command_claims(claims, ventilation_required=permit.ventilation_required)}
        for gateway_id in gateways:
            enqueue_command(db, gateway_id=gateway_id, kind="permit_issued", body=body, now=now, ttl=ttl)
    db.flush()
    return issued
