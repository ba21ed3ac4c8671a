"""Gateway authentication with its client certificate (HTTPS with client certificates, ``cloud.http.tls``).

The TLS handshake has already verified the certificate against the server's ``client_ca_file``; this does not
rely on that file being right. The certificate must be

1. signed by the cloud's **current** device CA (the key store's, which signs at enrolment) and valid now;
2. the very certificate the registry holds under its serial (same SHA-256 fingerprint), of the gateway its CN
   names, and not revoked — re-enrolment, certificate revocation and gateway revocation all revoke it;

then it authenticates the gateway of its CN, which must be the path's gateway and active. The answers match
the device token's: a certificate that is no (longer a) gateway's is ``Unauthorized`` (401); a good certificate
of another gateway is ``Forbidden`` (403 ``wrong_gateway``).
"""

from __future__ import annotations

import functools
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy.orm import Session

from cloud.devices.models import Gateway, GatewayCertificate
from cloud.devices.tokenauth import admit_gateway
from cloud.errors import Unauthorized
from cloud.keys import ca


@functools.lru_cache(maxsize=4)
def _device_ca(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def _common_name(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or not isinstance(names[0].value, str):
        return None
    return names[0].value


def _is_client_certificate(cert: x509.Certificate) -> bool:
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False  # the device CA always writes clientAuth
    return ExtendedKeyUsageOID.CLIENT_AUTH in usage


def authenticate_gateway_certificate(db: Session, *, cert_pem: str, gateway_id: str, ca_cert_pem: bytes,
                                     now: datetime) -> Gateway:
    """The gateway ``cert_pem`` was issued to, which must be ``gateway_id`` and active (see the module doc)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode("ascii"))
    except (ValueError, UnicodeError):
        raise Unauthorized("the client certificate cannot be read") from None
    try:
        cert.verify_directly_issued_by(_device_ca(ca_cert_pem))
    except (ValueError, TypeError, InvalidSignature):
        raise Unauthorized("the client certificate is not from the cloud's device CA") from None
    if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
        raise Unauthorized("the client certificate is expired or not yet valid")
    name = _common_name(cert)
    if name is None or not _is_client_certificate(cert):
        raise Unauthorized("not a gateway client certificate")
    row = db.get(GatewayCertificate, format(cert.serial_number, "x"))
    if row is None or row.fingerprint != ca.fingerprint(cert) or row.gateway_id != name:
        raise Unauthorized("the client certificate is not one the cloud issued")
    if row.revoked_at is not None:
        raise Unauthorized("the client certificate is revoked")
    gateway = db.get(Gateway, row.gateway_id)
    if gateway is None:
        raise Unauthorized("the client certificate is not one the cloud issued")
    return admit_gateway(gateway, gateway_id=gateway_id, credential="client certificate")
