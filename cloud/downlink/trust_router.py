"""HTTP endpoint queuing a gateway's padlock trust list (``cloud.downlink.trust``) for its down channel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from cloud.auth.deps import allowed
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.deps import DbSession, Now
from cloud.devices.models import Gateway
from cloud.devices.schemas import TrustListOut
from cloud.downlink.trust import push_trust_list
from cloud.keys.deps import Keys
from cloud.schemas import ERROR_RESPONSES
from cloud.scope import GATEWAY, in_scope

router = APIRouter(prefix="/api/v1", tags=["devices"], responses=ERROR_RESPONSES)
DeviceManager = Annotated[Principal, allowed(Action.DEVICE_MANAGE)]
ManagedGateway = Annotated[Gateway, in_scope(GATEWAY, action=Action.DEVICE_MANAGE)]


@router.post("/gateways/{gateway_id}/trust-list", response_model=TrustListOut, status_code=202)
def send_trust_list(gateway: ManagedGateway, actor: DeviceManager, db: DbSession, keys: Keys,
                    now: Now) -> TrustListOut:
    """Queue a signed padlock trust list (current issuer keys, the gateway's key, its padlocks) for the gateway."""
    pushed = push_trust_list(db, actor=actor, gateway=gateway, keyring=keys, now=now)
    db.commit()
    return TrustListOut(gateway_id=gateway.id, version=pushed.version, lock_ids=pushed.lock_ids,
                        counter=pushed.counter)
