"""Public keys of the cloud: what gateways, padlocks and phones trust (no secret here, no sign-in needed)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from cloud.deps import Now
from cloud.keys.deps import Keys
from cloud.keys.service import public_key_hex
from cloud.schemas import Output

router = APIRouter(prefix="/api/v1", tags=["keys"])


class PublicKeysOut(Output):
    issuer_kid: str
    issuer_keys: dict[str, str]
    command_kid: str
    command_keys: dict[str, str]


@router.get("/keys", response_model=PublicKeysOut)
def public_keys(keys: Keys, now: Now) -> PublicKeysOut:
    """The current issuer and command key ids, and every public key (kid hex → raw key hex) still trusted:
    permit tokens signed by a retired issuer key verify until they expire."""
    return PublicKeysOut(issuer_kid=keys.issuer.kid.hex(),
                         issuer_keys={k.hex(): public_key_hex(v) for k, v in keys.issuer_keys(now=now).items()},
                         command_kid=keys.command.kid.hex(),
                         command_keys={k.hex(): public_key_hex(v) for k, v in keys.command_keys(now=now).items()})


@router.get("/ca/certificate.pem", response_class=Response,
            responses={200: {"content": {"application/x-pem-file": {}}}})
def ca_certificate(keys: Keys) -> Response:
    """The CA certificate that signs gateway client certificates (for brokers and TLS terminators)."""
    return Response(keys.ca_cert_pem, media_type="application/x-pem-file")
