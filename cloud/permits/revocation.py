"""Revoking a permit's tokens: a signed revocation list for the space (``protocols.revocation``) and signed
``permit_revoked`` and ``revocation_list`` commands to every gateway serving it, which push the list unchanged
to the padlocks (a padlock with people inside defers it until the session closes: nobody is locked in).

A list names every revoked, unexpired token of the space. Versions come from one counter shared by all spaces,
so any newer list supersedes any older one on a padlock; the counter is taken first, so a list built after
another one's commit includes its revocations.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.devices.hardware_service import space_gateways
from cloud.downlink.counters import next_value
from cloud.downlink.service import MAX_TTL, enqueue_command, to_ms
from cloud.keys.service import Keyring
from cloud.permits.issuance import command_claims
from cloud.permits.models import Permit, PermitToken, RevocationListRecord
from protocols.revocation import make_revocation_list, sign_revocation_list
from protocols.token import DEFAULT_SKEW_S, decode_token
from protocols.uplink.fields import b64url_encode

REVOCATION_COUNTER = "revocation_list"


def revoke_permit_tokens(db: Session, *, permit: Permit, reason: str, keyring: Keyring,
                         now: datetime) -> tuple[RevocationListRecord, list[str]]:
    """Revoke the permit's tokens; returns the new signed list and the gateways it was queued for."""
    version = next_value(db, REVOCATION_COUNTER)
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
    rl = make_revocation_list(version, now_s, revoked)
    signed = sign_revocation_list(rl, keyring.issuer_private, kid=keyring.issuer.kid)
    record = RevocationListRecord(version=version, space_id=permit.space_id, issued_at=now_s, min_iat=rl.min_iat,
                                  revoked=sorted(cti.hex() for cti in rl.revoked), signed=signed)
    db.add(record)
    gateways = space_gateways(db, permit.space_id)
    for gateway_id in gateways:
        for token in tokens:
            claims = command_claims(decode_token(token.token), ventilation_required=permit.ventilation_required)
            body: dict[str, object] = {"claims": claims, "revoked_at_ms": to_ms(now)}
            if reason:
                body["reason"] = reason[:200]
            enqueue_command(db, gateway_id=gateway_id, kind="permit_revoked", now=now, body=body)
        enqueue_command(db, gateway_id=gateway_id, kind="revocation_list", now=now, ttl=MAX_TTL,
                        body={"revocation_list": b64url_encode(signed)})
    db.flush()
    return record, gateways
