"""The gateway-facing endpoints' authentication: ``AuthenticatedGateway``, the path's gateway, by its device token
(``Authorization: Bearer sgd_…``) or, over HTTPS with client certificates, by its certificate.

A bearer token, when sent, decides alone (``cloud.devices.tokenauth``). Without one, the client certificate the
TLS connection verified is used (``cloud.devices.certauth``); it comes only from the ASGI TLS extension that
``safegrid-cloud serve`` fills in from the connection (``cloud.http.tls``), never from a header, so a TLS
terminator in front of the service cannot pass one on. Neither: 401.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cloud.deps import DbSession, Now
from cloud.devices.certauth import authenticate_gateway_certificate
from cloud.devices.models import Gateway
from cloud.devices.tokenauth import authenticate_gateway
from cloud.errors import Unauthorized
from cloud.http.tls import client_certificate
from protocols.uplink.fields import GATEWAY_ID_PATTERN

GatewayPath = Annotated[str, Path(pattern=GATEWAY_ID_PATTERN, description="the gateway id", examples=["gw-0001"])]

_device_token = HTTPBearer(auto_error=False, scheme_name="DeviceToken",
                           description="the gateway's device token from enrolment; or, instead, its client "
                                       "certificate over HTTPS (mutual TLS)")


def current_gateway(gateway_id: GatewayPath, request: Request, db: DbSession, now: Now,
                    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_device_token)]) -> Gateway:
    if creds is not None:  # HTTPBearer gives only a non-empty "Bearer …"
        return authenticate_gateway(db, token=creds.credentials, gateway_id=gateway_id)
    cert_pem = client_certificate(request.scope)
    if cert_pem is None:
        raise Unauthorized("a device token or a client certificate is required")
    keyring = request.app.state.keystore.keyring()
    return authenticate_gateway_certificate(db, cert_pem=cert_pem, gateway_id=gateway_id,
                                            ca_cert_pem=keyring.ca_cert_pem, now=now)


AuthenticatedGateway = Annotated[Gateway, Depends(current_gateway)]
