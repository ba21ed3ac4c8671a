"""Gateway authentication with a device token (HTTP), the call every gateway-facing endpoint makes first.

Device tokens are random, shown once at enrolment and stored as SHA-256 (like users' bearer tokens).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.auth.tokens import token_digest
from cloud.devices.models import DeviceToken, Gateway, GatewayStatus
from cloud.errors import Forbidden, Unauthorized

TOKEN_PREFIX = "sgd_"  # lets secret scanners recognise a leaked device token
MAX_TOKEN_LENGTH = 128


def new_device_token(db: Session, *, gateway: Gateway, now: datetime) -> str:
    """Replace the gateway's device tokens with a new one and return it (the only time it exists in clear)."""
    for old in db.execute(select(DeviceToken).where(DeviceToken.gateway_id == gateway.id)).scalars():
        db.delete(old)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.add(DeviceToken(gateway_id=gateway.id, token_hash=token_digest(token), created_at=now))
    return token


def authenticate_gateway(db: Session, *, token: str, gateway_id: str) -> Gateway:
    """The gateway a presented device token belongs to, which must be ``gateway_id`` and active.

    Unknown token: ``Unauthorized`` (401). A valid token of another gateway, or of a revoked one:
    ``Forbidden`` (403, code ``wrong_gateway`` / ``gateway_revoked``).
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized("unknown device token")
    gateway = db.execute(select(Gateway).join(DeviceToken, DeviceToken.gateway_id == Gateway.id)
                         .where(DeviceToken.token_hash == token_digest(token))).scalar_one_or_none()
    if gateway is None:
        raise Unauthorized("unknown device token")
    return admit_gateway(gateway, gateway_id=gateway_id, credential="device token")


def admit_gateway(gateway: Gateway, *, gateway_id: str, credential: str) -> Gateway:
    """The last step of every gateway authentication: the gateway a credential proved must be the path's
    ``gateway_id`` (403 ``wrong_gateway``) and active (403 ``gateway_revoked``)."""
    if gateway.id != gateway_id:
        raise Forbidden(f"the {credential} belongs to another gateway", code="wrong_gateway", field="gateway")
    if gateway.status != GatewayStatus.ACTIVE:
        raise Forbidden(f"gateway {gateway.id} is {gateway.status}", code="gateway_revoked", field="gateway")
    return gateway
