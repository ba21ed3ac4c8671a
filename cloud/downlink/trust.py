"""The padlock trust list of a gateway: which issuer keys its padlocks accept and which gateway key signs their
gas attestations and time sets (``protocols.padlock.pushes``), signed by the current issuer key and queued as a
``trust_list_update`` command. Pushed after an issuer-key rotation, an enrolment, or a padlock change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.audit.service import record
from cloud.auth.roles import Principal
from cloud.devices.models import Gateway, Padlock
from cloud.devices.schemas import DeviceStatus
from cloud.downlink.counters import next_value
from cloud.downlink.service import queue_command
from cloud.errors import Conflict
from cloud.keys.service import Keyring
from protocols import crypto
from protocols.padlock.pushes import MAX_TRUST_LIST_LOCKS, TrustList, sign_trust_list
from protocols.uplink.fields import b64url_encode

TRUST_LIST_COUNTER = "trust_list"


@dataclass(frozen=True)
class PushedTrustList:
    version: int
    lock_ids: list[str]
    counter: int


def push_trust_list(db: Session, *, actor: Principal | None, gateway: Gateway, keyring: Keyring,
                    now: datetime) -> PushedTrustList:
    if gateway.signing_key is None:
        raise Conflict("the gateway is not enrolled yet (no signing key)", field="gateway_id")
    lock_ids = list(db.execute(select(Padlock.lock_id).where(Padlock.gateway_id == gateway.id,
                                                             Padlock.status == DeviceStatus.ACTIVE.value)
                               .order_by(Padlock.lock_id)).scalars())
    if not lock_ids:
        raise Conflict("the gateway serves no padlock", field="gateway_id")
    if len(lock_ids) > MAX_TRUST_LIST_LOCKS:
        raise Conflict(f"a trust list names at most {MAX_TRUST_LIST_LOCKS} padlocks", field="gateway_id")
    version = next_value(db, TRUST_LIST_COUNTER)
    issuer_keys = {kid: crypto.public_raw(key) for kid, key in keyring.issuer_keys(now=now).items()}
    trust_list = TrustList(version=version, issued_at=int(now.timestamp()),
                           lock_ids=tuple(bytes.fromhex(x) for x in lock_ids), issuer_keys=issuer_keys,
                           gateway_key=bytes.fromhex(gateway.signing_key))
    signed = sign_trust_list(trust_list, keyring.issuer_private, kid=keyring.issuer.kid)
    queued = queue_command(db, gateway_id=gateway.id, kind="trust_list_update",
                           body={"trust_list": b64url_encode(signed)}, now=now)
    record(db, actor=actor, action="gateway.trust_list", entity="gateway", entity_id=gateway.id, now=now,
           after={"version": version, "lock_ids": lock_ids, "issuer_kids": sorted(k.hex() for k in issuer_keys),
                  "counter": queued.counter})
    return PushedTrustList(version=version, lock_ids=lock_ids, counter=queued.counter)
