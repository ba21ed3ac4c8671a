"""The gateway-facing endpoints' authentication: ``AuthenticatedGateway`` (device token of the path's gateway)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from cloud.auth.deps import BearerToken
from cloud.deps import DbSession
from cloud.devices.models import Gateway
from cloud.devices.service import authenticate_gateway
from protocols.uplink.fields import GATEWAY_ID_PATTERN

GatewayPath = Annotated[str, Path(pattern=GATEWAY_ID_PATTERN, description="the gateway id", examples=["gw-0001"])]


def current_gateway(gateway_id: GatewayPath, db: DbSession, token: BearerToken) -> Gateway:
    return authenticate_gateway(db, token=token, gateway_id=gateway_id)


AuthenticatedGateway = Annotated[Gateway, Depends(current_gateway)]
