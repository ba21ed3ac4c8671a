"""Revoking a permit's tokens: signed revocation lists for the space (``protocols.revocation``) and signed
``permit_revoked`` and ``revocation_list`` commands to every gateway serving it, which push each list unchanged
to the padlocks it names (a padlock with people inside defers it until the session closes: nobody is locked in).

A list names every revoked, unexpired token of the space, and is bound inside its signed payload to its scope:
the space and the space's padlocks in service (at most 16 per list; a space with more gets one list per group,
each its own version). Versions come from a counter per space, taken first, so a list built after another one's
commit includes its revocations, and one space's newer list can never replace another space's on a padlock
(which refuses a list not naming it). ``issued_at`` never goes back across spaces, so a padlock moved to another
space adopts that space's next list and never again a list from before the move.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud.devices.hardware_service import space_gateways, space_padlocks
from cloud.downlink.counters import next_value
from cloud.downlink.service import MAX_TTL, enqueue_command, to_ms
from cloud.keys.service import Keyring
from cloud.permits.issuance import command_claims
from cloud.permits.models import Permit, PermitToken, RevocationListRecord
from cloud.registry.ids import space_uid
from protocols.revocation import MAX_LIST_LOCKS, make_revocation_list, sign_revocation_list
from protocols.token import DEFAULT_SKEW_S, decode_token
from protocols.uplink.fields import b64url_encode

#: The version counter of a space's lists is this prefix and the space's registry id (see migration 0004).
REVOCATION_COUNTER_PREFIX = "revocation_list:"


def revocation_counter(space_id: int) -> str:
    return f"{REVOCATION_COUNTER_PREFIX}{space_id}"


def revoke_permit_tokens(db: Session, *, permit: Permit, reason: str, keyring: Keyring,
                         now: datetime) -> tuple[list[RevocationListRecord], list[str]]:
    """Revoke the permit's tokens; returns the new signed lists (none when the space has no padlock in service)
    and the gateways they were queued for."""
    locks = sorted(bytes.fromhex(p.lock_id) for p in space_padlocks(db, permit.space_id))
    groups = [locks[i:i + MAX_LIST_LOCKS] for i in range(0, len(locks), MAX_LIST_LOCKS)]
    versions = [next_value(db, revocation_counter(permit.space_id)) for _ in groups]
    tokens = list(db.execute(select(PermitToken).where(PermitToken.permit_id == permit.id,
                                                       PermitToken.revoked_at.is_(None))).scalars())
    for token in tokens:
        token.revoked_at = now
    db.flush()
    now_s = int(now.timestamp())
    revoked = {bytes.fromhex(cti): iat for cti, iat in db.execute(
        select(PermitToken.cti, PermitToken.iat).join(Permit, Permit.id == PermitToken.permit_id)
        .where(Permit.space_id == permit.space_id, PermitToken.revoked_at.is_not(None),
               PermitToken.exp + DEFAULT_SKEW_S > now_s))}
    last_issued = db.execute(select(func.max(RevocationListRecord.issued_at))).scalar_one_or_none()
    issued_at = max(now_s, (last_issued or 0) + 1)
    records: list[RevocationListRecord] = []
    for version, group in zip(versions, groups, strict=True):
        rl = make_revocation_list(version, issued_at, revoked, space_id=space_uid(permit.space_id), lock_ids=group)
        signed = sign_revocation_list(rl, keyring.issuer_private, kid=keyring.issuer.kid)
        records.append(RevocationListRecord(
            version=version, space_id=permit.space_id, issued_at=issued_at, min_iat=rl.min_iat,
            revoked=sorted(cti.hex() for cti in rl.revoked), lock_ids=[lock.hex() for lock in group], signed=signed))
    db.add_all(records)
    gateways = space_gateways(db, permit.space_id)
    for gateway_id in gateways:
        for token in tokens:
            claims = command_claims(decode_token(token.token), ventilation_required=permit.ventilation_required)
            body: dict[str, object] = {"claims": claims, "revoked_at_ms": to_ms(now)}
            if reason:
                body["reason"] = reason[:200]
            enqueue_command(db, gateway_id=gateway_id, kind="permit_revoked", now=now, body=body)
        for record in records:
            enqueue_command(db, gateway_id=gateway_id, kind="revocation_list", now=now, ttl=MAX_TTL,
                            body={"revocation_list": b64url_encode(record.signed)})
    db.flush()
    return records, gateways
