"""HTTP endpoints of the device registry: gateways and their enrolment and certificates, padlocks, detectors."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from cloud.auth.deps import CurrentUser, allowed
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.deps import DbSession, Limit, Now, Offset
from cloud.devices import enrolment, gateways_service
from cloud.devices import hardware_service as hw
from cloud.devices.models import Detector, Gateway, Padlock
from cloud.devices.schemas import (
    CertificateOut,
    DetectorCreate,
    DetectorOut,
    DetectorUpdate,
    EnrolmentCodeIn,
    EnrolmentCodeOut,
    EnrolmentIn,
    EnrolmentOut,
    GatewayCreate,
    GatewayOut,
    GatewayUpdate,
    PadlockCreate,
    PadlockOut,
    PadlockUpdate,
    RevokeIn,
)
from cloud.keys.deps import Keys
from cloud.keys.service import public_key_hex
from cloud.schemas import ERROR_RESPONSES, Page, QueryId, page_of
from cloud.scope import (
    DETECTOR,
    GATEWAY,
    PADLOCK,
    VisibleDetector,
    VisibleGateway,
    VisiblePadlock,
    in_scope,
)

router = APIRouter(prefix="/api/v1", tags=["devices"], responses=ERROR_RESPONSES)
DeviceManager = Annotated[Principal, allowed(Action.DEVICE_MANAGE)]
ManagedGateway = Annotated[Gateway, in_scope(GATEWAY, action=Action.DEVICE_MANAGE)]
ManagedPadlock = Annotated[Padlock, in_scope(PADLOCK, action=Action.DEVICE_MANAGE)]
ManagedDetector = Annotated[Detector, in_scope(DETECTOR, action=Action.DEVICE_MANAGE)]
Serial = Annotated[str, Path(pattern=r"^[0-9a-fA-F]{1,40}$")]


# --- gateways ------------------------------------------------------------------------------------------


@router.get("/gateways", response_model=Page[GatewayOut])
def list_gateways(actor: CurrentUser, db: DbSession, enterprise_id: QueryId = None,
                  limit: Limit = 100, offset: Offset = 0) -> Response:
    rows, total = gateways_service.list_gateways(db, actor=actor, enterprise_id=enterprise_id, limit=limit,
                                                 offset=offset)
    return page_of(GatewayOut, rows, total=total, limit=limit, offset=offset)


@router.post("/gateways", response_model=GatewayOut, status_code=201)
def create_gateway(body: GatewayCreate, actor: DeviceManager, db: DbSession, now: Now) -> GatewayOut:
    """Register a gateway (status pending until it enrols with a code)."""
    row = gateways_service.create_gateway(db, actor=actor, data=body, now=now)
    db.commit()
    return GatewayOut.model_validate(row)


@router.get("/gateways/{gateway_id}", response_model=GatewayOut)
def read_gateway(gateway: VisibleGateway) -> GatewayOut:
    return GatewayOut.model_validate(gateway)


@router.patch("/gateways/{gateway_id}", response_model=GatewayOut)
def update_gateway(gateway: ManagedGateway, body: GatewayUpdate, actor: DeviceManager, db: DbSession,
                   now: Now) -> GatewayOut:
    row = gateways_service.update_gateway(db, actor=actor, gateway=gateway, data=body, now=now)
    db.commit()
    return GatewayOut.model_validate(row)


@router.post("/gateways/{gateway_id}/revoke", response_model=GatewayOut)
def revoke_gateway(gateway: ManagedGateway, body: RevokeIn, actor: DeviceManager, db: DbSession,
                   now: Now) -> GatewayOut:
    """Take the gateway out of service: certificates revoked, device token and enrolment codes deleted."""
    row = gateways_service.revoke_gateway(db, actor=actor, gateway=gateway, reason=body.reason, now=now)
    db.commit()
    return GatewayOut.model_validate(row)


@router.post("/gateways/{gateway_id}/enrolment-codes", response_model=EnrolmentCodeOut, status_code=201)
def create_enrolment_code(gateway: ManagedGateway, body: EnrolmentCodeIn, actor: DeviceManager, db: DbSession,
                          now: Now) -> EnrolmentCodeOut:
    """A one-time code for the gateway to enrol with (shown once, expires)."""
    code, expires_at = enrolment.create_code(db, actor=actor, gateway=gateway,
                                             ttl=timedelta(minutes=body.ttl_minutes), now=now)
    db.commit()
    return EnrolmentCodeOut(gateway_id=gateway.id, code=code, expires_at=expires_at)


@router.post("/enrolment", response_model=EnrolmentOut, status_code=201, tags=["gateway protocol"],
             responses={401: {"description": "invalid, expired or already used enrolment code"}})
def enrol(body: EnrolmentIn, db: DbSession, keys: Keys, now: Now) -> EnrolmentOut:
    """A gateway redeems its enrolment code: the cloud CA signs its CSR (CN = gateway id), a device token is
    issued, the epoch is bumped, and every older certificate and token of the gateway is revoked."""
    result = enrolment.enrol(db, gateway_id=body.gateway_id, code=body.code, csr_pem=body.csr_pem,
                             signing_key=body.signing_key, keyring=keys, now=now)
    db.commit()
    return EnrolmentOut(gateway_id=result.gateway.id, epoch=result.gateway.epoch,
                        certificate_pem=result.certificate_pem, ca_pem=keys.ca_cert_pem.decode("ascii"),
                        device_token=result.device_token,
                        command_keys={k.hex(): public_key_hex(v) for k, v in keys.command_keys(now=now).items()},
                        issuer_keys={k.hex(): public_key_hex(v) for k, v in keys.issuer_keys(now=now).items()})


@router.get("/gateways/{gateway_id}/certificates", response_model=list[CertificateOut])
def list_certificates(gateway: VisibleGateway, db: DbSession) -> list[CertificateOut]:
    return [CertificateOut.model_validate(c) for c in gateways_service.list_certificates(db, gateway=gateway)]


@router.post("/gateways/{gateway_id}/certificates/{serial}/revoke", response_model=CertificateOut)
def revoke_certificate(gateway: ManagedGateway, serial: Serial, body: RevokeIn, actor: DeviceManager,
                       db: DbSession, now: Now) -> CertificateOut:
    cert = enrolment.revoke_certificate(db, actor=actor, gateway=gateway, serial=serial, reason=body.reason,
                                        now=now)
    db.commit()
    return CertificateOut.model_validate(cert)


@router.get("/ca/crl.pem", response_class=Response, tags=["keys"],
            responses={200: {"content": {"application/x-pem-file": {}}}})
def crl(db: DbSession, keys: Keys, now: Now) -> Response:
    """The CA's certificate revocation list (revoked gateway certificates not yet expired)."""
    return Response(enrolment.certificate_revocation_list(db, keyring=keys, now=now),
                    media_type="application/x-pem-file")


# --- padlocks ------------------------------------------------------------------------------------------


@router.get("/padlocks", response_model=Page[PadlockOut])
def list_padlocks(actor: CurrentUser, db: DbSession, space_id: QueryId = None,
                  gateway_id: Annotated[str | None, Query(max_length=64)] = None, limit: Limit = 100,
                  offset: Offset = 0) -> Response:
    rows, total = hw.list_devices(db, model=Padlock, actor=actor, space_id=space_id, gateway_id=gateway_id,
                                  limit=limit, offset=offset)
    return page_of(PadlockOut, rows, total=total, limit=limit, offset=offset)


@router.post("/padlocks", response_model=PadlockOut, status_code=201)
def create_padlock(body: PadlockCreate, actor: DeviceManager, db: DbSession, now: Now) -> PadlockOut:
    row = hw.create_device(db, actor=actor, data=body, now=now)
    db.commit()
    return PadlockOut.model_validate(row)


@router.get("/padlocks/{padlock_id}", response_model=PadlockOut)
def read_padlock(padlock: VisiblePadlock) -> PadlockOut:
    return PadlockOut.model_validate(padlock)


@router.patch("/padlocks/{padlock_id}", response_model=PadlockOut)
def update_padlock(padlock: ManagedPadlock, body: PadlockUpdate, actor: DeviceManager, db: DbSession,
                   now: Now) -> PadlockOut:
    row = hw.update_device(db, row=padlock, actor=actor, data=body, now=now)
    db.commit()
    return PadlockOut.model_validate(row)


@router.delete("/padlocks/{padlock_id}", status_code=204)
def delete_padlock(padlock: ManagedPadlock, actor: DeviceManager, db: DbSession, now: Now) -> None:
    hw.delete_device(db, row=padlock, actor=actor, now=now)
    db.commit()


# --- detectors -----------------------------------------------------------------------------------------


@router.get("/detectors", response_model=Page[DetectorOut])
def list_detectors(actor: CurrentUser, db: DbSession, space_id: QueryId = None,
                   gateway_id: Annotated[str | None, Query(max_length=64)] = None, limit: Limit = 100,
                   offset: Offset = 0) -> Response:
    rows, total = hw.list_devices(db, model=Detector, actor=actor, space_id=space_id, gateway_id=gateway_id,
                                  limit=limit, offset=offset)
    return page_of(DetectorOut, rows, total=total, limit=limit, offset=offset)


@router.post("/detectors", response_model=DetectorOut, status_code=201)
def create_detector(body: DetectorCreate, actor: DeviceManager, db: DbSession, now: Now) -> DetectorOut:
    row = hw.create_device(db, actor=actor, data=body, now=now)
    db.commit()
    return DetectorOut.model_validate(row)


@router.get("/detectors/{detector_id}", response_model=DetectorOut)
def read_detector(detector: VisibleDetector) -> DetectorOut:
    return DetectorOut.model_validate(detector)


@router.patch("/detectors/{detector_id}", response_model=DetectorOut)
def update_detector(detector: ManagedDetector, body: DetectorUpdate, actor: DeviceManager, db: DbSession,
                    now: Now) -> DetectorOut:
    row = hw.update_device(db, row=detector, actor=actor, data=body, now=now)
    db.commit()
    return DetectorOut.model_validate(row)


@router.delete("/detectors/{detector_id}", status_code=204)
def delete_detector(detector: ManagedDetector, actor: DeviceManager, db: DbSession, now: Now) -> None:
    hw.delete_device(db, row=detector, actor=actor, now=now)
    db.commit()
