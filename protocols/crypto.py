"""Ed25519 keys and COSE_Sign1 (RFC 9052) signing and verification shared by every signed format.

Algorithms: Ed25519 as the fully-specified alg -19 (RFC 9864) when signing; the older polymorphic
EdDSA -8 is accepted when verifying. Keys travel as raw 32-byte values; a key id (``kid``) is the
first 8 bytes of the SHA-256 of the raw public key unless the issuer assigns one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocols import cbor
from protocols.errors import ProtocolError, SignatureError

ALG_ED25519 = -19  # RFC 9864, fully specified
ALG_EDDSA = -8  # RFC 9053, polymorphic; accepted for verification only
ACCEPTED_ALGS = frozenset({ALG_ED25519, ALG_EDDSA})

COSE_SIGN1_TAG = 18
HDR_ALG = 1
HDR_KID = 4

# COSE_Key (RFC 9052 §7, RFC 9053 §7.2) labels for an OKP Ed25519 public key.
KEY_KTY, KEY_CRV, KEY_X = 1, -1, -2
KTY_OKP, CRV_ED25519 = 1, 6

PUBLIC_KEY_LEN = 32
SIGNATURE_LEN = 64


def generate_private_key() -> Ed25519PrivateKey:
    """A fresh random Ed25519 key (there are no default or derived keys anywhere in SafeGrid)."""
    return Ed25519PrivateKey.generate()


def private_key_from_raw(raw: bytes) -> Ed25519PrivateKey:
    if len(raw) != 32:
        raise ProtocolError(f"an Ed25519 private key is 32 bytes, got {len(raw)}", field="private_key")
    return Ed25519PrivateKey.from_private_bytes(raw)


def private_raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_from_raw(raw: object, *, error: type[ProtocolError] = ProtocolError,
                        field: str = "public_key") -> Ed25519PublicKey:
    if not isinstance(raw, bytes) or len(raw) != PUBLIC_KEY_LEN:
        raise error("an Ed25519 public key is 32 bytes", field=field)
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise error(f"invalid Ed25519 public key: {exc}", field=field) from exc


def key_id(public: bytes | Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    """The default 8-byte key id of a public key."""
    raw = public if isinstance(public, bytes) else public_raw(public)
    return hashlib.sha256(raw).digest()[:8]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def verify_raw(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is ``public``'s Ed25519 signature of ``message``; never raises."""
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_LEN:
        return False
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def cose_key(public: bytes | Ed25519PublicKey | Ed25519PrivateKey) -> dict[int, Any]:
    """An Ed25519 public key as a COSE_Key map (kty OKP, crv Ed25519, x)."""
    raw = public if isinstance(public, bytes) else public_raw(public)
    return {KEY_KTY: KTY_OKP, KEY_CRV: CRV_ED25519, KEY_X: raw}


def public_key_from_cose(value: Any, *, error: type[ProtocolError] = ProtocolError,
                         field: str = "cose_key") -> Ed25519PublicKey:
    if not isinstance(value, dict):
        raise error("a COSE_Key must be a map", field=field)
    if value.get(KEY_KTY) != KTY_OKP or value.get(KEY_CRV) != CRV_ED25519:
        raise error("only OKP/Ed25519 COSE keys are supported", field=field)
    return public_key_from_raw(value.get(KEY_X), error=error, field=field)


@dataclass(frozen=True, slots=True)
class Sign1:
    """A decoded (not yet verified) COSE_Sign1."""

    protected_bytes: bytes
    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes

    @property
    def kid(self) -> bytes | None:
        kid = self.protected.get(HDR_KID, self.unprotected.get(HDR_KID))
        return kid if isinstance(kid, bytes) else None

    @property
    def alg(self) -> Any:
        return self.protected.get(HDR_ALG)

    def to_be_signed(self, external_aad: bytes = b"") -> bytes:
        return _sig_structure(self.protected_bytes, external_aad, self.payload)


def _sig_structure(protected_bytes: bytes, external_aad: bytes, payload: bytes) -> bytes:
    return cbor.dumps(["Signature1", protected_bytes, external_aad, payload])


def sign1(payload: bytes, key: Ed25519PrivateKey, *, kid: bytes, external_aad: bytes = b"",
          extra_protected: Mapping[int, Any] | None = None) -> bytes:
    """COSE_Sign1 (tag 18) over ``payload`` with alg -19 and ``kid`` in the protected header."""
    header: dict[int, Any] = {HDR_ALG: ALG_ED25519, HDR_KID: kid}
    if extra_protected:
        header.update(extra_protected)
    protected_bytes = cbor.dumps(header)
    signature = key.sign(_sig_structure(protected_bytes, external_aad, payload))
    return cbor.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected_bytes, {}, payload, signature]))


def decode_sign1(data: bytes, *, max_bytes: int = cbor.DEFAULT_MAX_BYTES,
                 error: type[ProtocolError] = SignatureError) -> Sign1:
    """Parse a COSE_Sign1 (tagged or untagged) without verifying it; malformed → ``error`` code malformed."""
    item = cbor.loads(data, max_bytes=max_bytes, error=error)
    if isinstance(item, cbor2.CBORTag):
        if item.tag != COSE_SIGN1_TAG:
            raise error(f"expected COSE_Sign1 tag 18, got tag {item.tag}", code="malformed")
        item = item.value
    if not isinstance(item, list) or len(item) != 4:
        raise error("COSE_Sign1 must be an array of 4", code="malformed")
    protected_bytes, unprotected, payload, signature = item
    if not isinstance(protected_bytes, bytes) or not isinstance(unprotected, dict):
        raise error("COSE_Sign1 headers are malformed", code="malformed")
    if not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise error("COSE_Sign1 payload and signature must be byte strings", code="malformed")
    protected = cbor.loads(protected_bytes, max_bytes=max_bytes, error=error) if protected_bytes else {}
    if not isinstance(protected, dict):
        raise error("COSE_Sign1 protected header must be a map", code="malformed")
    return Sign1(protected_bytes, protected, unprotected, payload, signature)


#: The longest ``kid`` the strict profile accepts.
MAX_KID_LEN = 16


def decode_sign1_strict(data: bytes, *, max_bytes: int, error: type[ProtocolError] = SignatureError,
                        also_protected: frozenset[int] = frozenset()) -> Sign1:
    """``decode_sign1`` under the strict profile of permit tokens and revocation lists (code ``malformed``).

    The message must be tagged (18) and deterministically encoded, so one message has exactly one encoding
    and one hash; the protected header holds exactly ``alg`` (an accepted one) and a 1..16-byte ``kid``
    (plus the labels ``also_protected`` names, whose values the caller checks); the unprotected header is
    empty, so nothing unsigned rides along.
    """
    msg = decode_sign1(data, max_bytes=max_bytes, error=error)
    labels = {HDR_ALG, HDR_KID} | also_protected
    if any(type(label) is not int for label in msg.protected) or set(msg.protected) != labels:
        raise error(f"the protected header must hold exactly the labels {sorted(labels)}", code="malformed",
                    field="header")
    if msg.unprotected:
        raise error("the unprotected header must be empty", code="malformed", field="header")
    alg = msg.protected[HDR_ALG]
    if type(alg) is not int or alg not in ACCEPTED_ALGS:
        raise error(f"unsupported COSE alg {alg!r}", code="malformed", field="alg")
    kid = msg.protected[HDR_KID]
    if not isinstance(kid, bytes) or not 1 <= len(kid) <= MAX_KID_LEN:
        raise error(f"the kid must be 1..{MAX_KID_LEN} bytes", code="malformed", field="kid")
    canonical = cbor.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [msg.protected_bytes, {}, msg.payload, msg.signature]))
    if canonical != bytes(data) or cbor.dumps(msg.protected) != msg.protected_bytes:
        raise error("not a tagged, deterministically encoded COSE_Sign1", code="malformed", field="encoding")
    return msg


def verify_sign1(data: bytes | Sign1, keys: Mapping[bytes, Ed25519PublicKey], *, external_aad: bytes = b"",
                 error: type[ProtocolError] = SignatureError) -> Sign1:
    """Decode and verify against trusted keys by kid. Codes: malformed, unknown_kid, bad_signature."""
    msg = data if isinstance(data, Sign1) else decode_sign1(data, error=error)
    if not isinstance(msg.alg, int) or msg.alg not in ACCEPTED_ALGS:  # an unhashable alg must not raise
        raise error(f"unsupported COSE alg {msg.alg!r}", code="malformed", field="alg")
    kid = msg.kid
    if kid is None:
        raise error("no kid in the COSE header", code="malformed", field="kid")
    public = keys.get(kid)
    if public is None:
        raise error(f"no trusted key with kid {kid.hex()}", code="unknown_kid", field="kid")
    if not verify_raw(public, msg.signature, msg.to_be_signed(external_aad)):
        raise error("signature does not verify", code="bad_signature")
    return msg
