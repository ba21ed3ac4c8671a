"""The device CA: a self-signed EC P-256 root that signs gateway client certificates (CN = gateway id) and
publishes a CRL of the revoked ones (for Mosquitto's ``crlfile`` and any TLS terminator).

Pure functions over ``cryptography`` objects; time is passed in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "SafeGrid gateway CA"
CA_LIFETIME = timedelta(days=3650)
MIN_RSA_BITS = 2048
MAX_CSR_BYTES = 16 * 1024


class CsrError(ValueError):
    """A CSR the CA will not sign (the message says why)."""


def generate_ca(*, now: datetime) -> tuple[bytes, bytes]:
    """(private key PEM, certificate PEM) of a new CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    public = key.public_key()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def load_ca(key_pem: bytes, cert_pem: bytes) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key is not an EC key")
    return key, x509.load_pem_x509_certificate(cert_pem)


def parse_csr(pem: str) -> x509.CertificateSigningRequest:
    """A well-formed, self-signed CSR with an acceptable key (EC P-256/P-384, Ed25519, RSA ≥ 2048)."""
    data = pem.encode("ascii", "replace")
    if len(data) > MAX_CSR_BYTES:
        raise CsrError("the CSR is too large")
    try:
        csr = x509.load_pem_x509_csr(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CsrError(f"not a PEM certificate signing request: {exc}") from None
    try:
        public = csr.public_key()
        signature_ok = csr.is_signature_valid
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CsrError(f"unsupported CSR key: {exc}") from None
    if not signature_ok:
        raise CsrError("the CSR signature does not verify")
    if isinstance(public, ec.EllipticCurvePublicKey):
        if public.curve.name not in ("secp256r1", "secp384r1"):
            raise CsrError(f"EC curve {public.curve.name} is not accepted (use P-256 or P-384)")
    elif isinstance(public, rsa.RSAPublicKey):
        if public.key_size < MIN_RSA_BITS:
            raise CsrError(f"RSA keys need at least {MIN_RSA_BITS} bits")
    elif not isinstance(public, ed25519.Ed25519PublicKey):
        raise CsrError("the CSR key must be EC P-256/P-384, Ed25519 or RSA")
    return csr


def sign_gateway_certificate(csr: x509.CertificateSigningRequest, *, gateway_id: str, ca_key_pem: bytes,
                             ca_cert_pem: bytes, now: datetime, lifetime: timedelta) -> x509.Certificate:
    """A client certificate for ``gateway_id`` (the CSR's own subject is ignored: the CA names the gateway)."""
    ca_key, ca_cert = load_ca(ca_key_pem, ca_cert_pem)
    public = csr.public_key()
    is_ec = isinstance(public, ec.EllipticCurvePublicKey)
    not_after = min(now + lifetime, ca_cert.not_valid_after_utc)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, gateway_id)]))
            .issuer_name(ca_cert.subject).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=isinstance(public, rsa.RSAPublicKey),
                                         data_encipherment=False, key_agreement=is_ec, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def build_crl(revoked: list[tuple[int, datetime]], *, ca_key_pem: bytes, ca_cert_pem: bytes, now: datetime,
              next_update: timedelta = timedelta(days=1)) -> bytes:
    """A PEM CRL naming ``revoked`` (serial, revocation time)."""
    ca_key, ca_cert = load_ca(ca_key_pem, ca_cert_pem)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
               .last_update(now).next_update(now + next_update))
    for serial, at in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at).build())
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
