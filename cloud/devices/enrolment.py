"""Gateway enrolment: one-time expiring codes, the CA signing the gateway's CSR, certificate revocation, the CRL.

A technician asks for a code for a registered gateway; the gateway presents it once with a CSR and its
Ed25519 signing key. The cloud CA then signs a client certificate (CN = gateway id), a new device token is
issued, the epoch is bumped (re-provisioning restarts the uplink's seq) and every older certificate and token
of the gateway is revoked. A wrong, expired or used code gets one answer (401) whatever the reason.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.roles import Principal
from cloud.auth.tokens import token_digest
from cloud.db.base import snapshot
from cloud.devices.models import EnrolmentCode, Gateway, GatewayCertificate, GatewayStatus
from cloud.devices.tokenauth import new_device_token
from cloud.errors import Conflict, InvalidInput, NotFound, Unauthorized
from cloud.keys import ca
from cloud.keys.service import Keyring

CODE_PREFIX = "sge_"
CERTIFICATE_LIFETIME = timedelta(days=365)


def create_code(db: Session, *, actor: Principal, gateway: Gateway, ttl: timedelta,
                now: datetime) -> tuple[str, datetime]:
    """A new one-time code for the gateway (shown once) and its expiry."""
    if gateway.status == GatewayStatus.REVOKED:
        raise Conflict("the gateway is revoked: register a new one", field="gateway_id")
    code = CODE_PREFIX + secrets.token_urlsafe(24)
    row = EnrolmentCode(gateway_id=gateway.id, code_hash=token_digest(code), created_by=actor.user_id, created_at=now,
                        expires_at=now + ttl)
    db.add(row)
    db.flush()
    record(db, actor=actor, action="gateway.enrolment_code", entity="gateway", entity_id=gateway.id, now=now,
           after={"code_id": row.id, "expires_at": row.expires_at.isoformat()})
    return code, row.expires_at


@dataclass(frozen=True)
class Enrolment:
    gateway: Gateway
    certificate_pem: str
    device_token: str


def enrol(db: Session, *, gateway_id: str, code: str, csr_pem: str, signing_key: str, keyring: Keyring,
          now: datetime) -> Enrolment:
    """Redeem ``code`` for ``gateway_id``: sign its CSR, issue its device token, bump its epoch."""
    refused = Unauthorized("invalid, expired or already used enrolment code")
    if not code.startswith(CODE_PREFIX):
        raise refused
    # Spend the code atomically: of two concurrent enrolments with one code, only one updates the row.
    spent = db.execute(update(EnrolmentCode)
                       .where(EnrolmentCode.code_hash == token_digest(code), EnrolmentCode.gateway_id == gateway_id,
                              EnrolmentCode.used_at.is_(None), EnrolmentCode.expires_at > now)
                       .values(used_at=now))
    if getattr(spent, "rowcount", 0) != 1:
        raise refused
    gateway = db.get(Gateway, gateway_id)
    # Codes of a revoked gateway are deleted; belt and braces.
    if gateway is None or gateway.status == GatewayStatus.REVOKED:
        raise refused
    try:
        csr = ca.parse_csr(csr_pem)
    except ca.CsrError as exc:
        raise InvalidInput(str(exc), field="csr_pem") from None
    cert = ca.sign_gateway_certificate(csr, gateway_id=gateway.id, ca_key_pem=keyring.ca_key_pem,
                                       ca_cert_pem=keyring.ca_cert_pem, now=now, lifetime=CERTIFICATE_LIFETIME)
    before = snapshot(gateway)
    db.execute(update(GatewayCertificate).where(GatewayCertificate.gateway_id == gateway.id,
                                                GatewayCertificate.revoked_at.is_(None))
               .values(revoked_at=now, revoke_reason="superseded by a new enrolment"))
    pem = ca.certificate_pem(cert)
    db.add(GatewayCertificate(serial=format(cert.serial_number, "x"), gateway_id=gateway.id,
                              fingerprint=ca.fingerprint(cert), pem=pem, not_before=cert.not_valid_before_utc,
                              not_after=cert.not_valid_after_utc, created_at=now))
    token = new_device_token(db, gateway=gateway, now=now)
    gateway.epoch += 1
    gateway.status = GatewayStatus.ACTIVE
    gateway.signing_key = signing_key
    gateway.updated_at = now
    db.flush()
    record(db, actor=None, actor_name=f"gateway:{gateway.id}", action="gateway.enrol", entity="gateway",
           entity_id=gateway.id, now=now, before=before,
           after={**snapshot(gateway), "certificate_serial": format(cert.serial_number, "x")})
    return Enrolment(gateway=gateway, certificate_pem=pem, device_token=token)


def revoke_certificate(db: Session, *, actor: Principal, gateway: Gateway, serial: str, reason: str,
                       now: datetime) -> GatewayCertificate:
    cert = db.execute(select(GatewayCertificate).where(GatewayCertificate.gateway_id == gateway.id,
                                                       GatewayCertificate.serial == serial.lower())
                      ).scalar_one_or_none()
    if cert is None:
        raise NotFound("no such certificate")
    if cert.revoked_at is not None:
        raise Conflict("the certificate is already revoked", field="serial")
    cert.revoked_at = now
    cert.revoke_reason = reason or "revoked"
    db.flush()
    record(db, actor=actor, action="gateway.certificate_revoke", entity="gateway", entity_id=gateway.id, now=now,
           after={"serial": cert.serial, "reason": cert.revoke_reason})
    return cert


def certificate_revocation_list(db: Session, *, keyring: Keyring, now: datetime) -> bytes:
    """The CA's CRL (PEM) of revoked certificates that have not expired yet."""
    rows = db.execute(select(GatewayCertificate.serial, GatewayCertificate.revoked_at)
                      .where(GatewayCertificate.revoked_at.is_not(None), GatewayCertificate.not_after > now)
                      .order_by(GatewayCertificate.serial)).all()
    return ca.build_crl([(int(serial, 16), at) for serial, at in rows if at is not None], ca_key_pem=keyring.ca_key_pem,
                        ca_cert_pem=keyring.ca_cert_pem, now=now)
