"""Permit tokens: COSE_Sign1 (RFC 9052) with Ed25519 over CWT claims (RFC 8392), holder-bound by ``cnf``.

The cloud issues one token per approved permit and worker. The worker's phone presents it to a padlock
together with a proof-of-possession (PoP) signature, by the holder key named in ``cnf`` (RFC 8747), over
the padlock's fresh challenge. The padlock verifies everything offline. Spec: ``protocols/token.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocols import cbor, crypto
from protocols.errors import TokenError
from protocols.fields import FieldReader, bstr_of
from protocols.revocation import RevocationList

REJECTION_CODES: tuple[str, ...] = ("malformed", "bad_signature", "unknown_kid", "expired",
                                    "not_yet_valid", "wrong_lock", "bad_pop", "revoked")
DEFAULT_SKEW_S = 120
MAX_TOKEN_BYTES = 2048
MAX_LOCKS = 16
ID_LEN = 16
LOCK_ID_LEN = 8
MAX_TEXT_BYTES = 64
MAX_DURATION_S = 24 * 3600
MAX_ENTRANTS = 255
UINT32_MAX = 2**32 - 1
#: Domain separation of the PoP message: a holder signature means nothing in any other context.
POP_CONTEXT = "safegrid/permit-pop/v1"

# CWT claim keys (RFC 8392 §4) and the confirmation method (RFC 8747 §3.1).
ISS, SUB, EXP, NBF, IAT, CTI, CNF = 1, 2, 4, 5, 6, 7, 8
CNF_COSE_KEY = 1
# All SafeGrid claims sit in one map under a single private-use key (< -65536), with small keys inside: each
# private-use key costs 5 bytes, ten of them would push a one-lock token over 300 bytes.
SAFEGRID = -65537
# The work window travels relative to nbf (start offset, then length): a few bytes instead of two full times.
(P_PERMIT, P_ENTERPRISE, P_SPACE, P_WORKER, P_LOCKS, P_WINDOW_OFFSET, P_WINDOW_LENGTH, P_MAX_DURATION, P_ENTRANTS,
 P_GAS, P_DRILL) = range(1, 12)


@dataclass(frozen=True, slots=True)
class PermitClaims:
    iss: str  # issuer name, 1..64 bytes of UTF-8
    sub: str  # subject (the worker), 1..64 bytes of UTF-8
    iat: int  # unix seconds
    nbf: int
    exp: int
    cti: bytes  # token id, 16 bytes: what a revocation list names
    holder_key: bytes  # raw 32-byte Ed25519 public key of the worker's device (cnf)
    permit_id: bytes  # 16-byte UUIDs
    enterprise_id: bytes
    space_id: bytes
    worker_id: bytes
    lock_ids: tuple[bytes, ...]  # 1..16 distinct 8-byte lock ids
    window_start: int  # the approved work window, unix seconds
    window_end: int
    max_duration_s: int  # longest continuous stay inside, 1..86400
    entrant_limit: int  # 1..255 people inside at once
    gas_test_required: bool  # the lock also demands a fresh gas attestation for space_id
    drill: bool  # an exercise (演练): handled like real work, reported apart

    def to_cbor(self) -> bytes:
        """The deterministic CBOR claims set (the COSE payload); not checked — see ``claims_from_cbor``.

        The maps are written in deterministic key order already, so the plain encoder gives the canonical bytes
        without the canonical encoder's sort (4x slower; this runs on every verification). Tests pin the equality.
        """
        return cbor2.dumps({
            ISS: self.iss, SUB: self.sub, EXP: self.exp, NBF: self.nbf, IAT: self.iat, CTI: self.cti,
            CNF: {CNF_COSE_KEY: crypto.cose_key(self.holder_key)},
            SAFEGRID: {
                P_PERMIT: self.permit_id, P_ENTERPRISE: self.enterprise_id, P_SPACE: self.space_id,
                P_WORKER: self.worker_id, P_LOCKS: list(self.lock_ids), P_WINDOW_OFFSET: self.window_start - self.nbf,
                P_WINDOW_LENGTH: self.window_end - self.window_start, P_MAX_DURATION: self.max_duration_s,
                P_ENTRANTS: self.entrant_limit,
                P_GAS: self.gas_test_required, P_DRILL: self.drill,
            },
        })

    @property
    def valid_from(self) -> int:
        """The first second a lock may open (before the skew allowance): validity and work window both began."""
        return max(self.nbf, self.window_start)

    @property
    def valid_until(self) -> int:
        """The first second a lock refuses (before the skew allowance): validity or work window ended."""
        return min(self.exp, self.window_end)


def _fail(message: str, field: str | None = None) -> TokenError:
    return TokenError(message, code="malformed", field=field)


def _holder_key(f: FieldReader) -> bytes:
    """cnf = {1: COSE_Key} with exactly kty OKP, crv Ed25519 and x (RFC 8747 §3.2, RFC 9053 §7.2)."""
    cnf = f.submap(CNF, "cnf")
    key = cnf.submap(CNF_COSE_KEY, "cose_key")
    if key.uint(crypto.KEY_KTY, "kty") != crypto.KTY_OKP or key.raw(crypto.KEY_CRV, "crv") != crypto.CRV_ED25519:
        raise _fail("the holder key must be an OKP Ed25519 COSE_Key", "cnf")
    raw = key.bstr(crypto.KEY_X, "x", size=crypto.PUBLIC_KEY_LEN)
    key.finish()
    cnf.finish()
    return raw


def claims_from_cbor(payload: bytes) -> PermitClaims:
    """Parse and check a claims set (structure only, no signature); anything wrong is TokenError ``malformed``."""
    f = FieldReader(cbor.loads(payload, max_bytes=MAX_TOKEN_BYTES, error=TokenError), what="claims",
                    error=TokenError)
    holder_key = _holder_key(f)
    p = f.submap(SAFEGRID, "safegrid")
    locks = p.array(P_LOCKS, "lock_ids", max_items=MAX_LOCKS)
    nbf = f.uint(NBF, "nbf", maximum=UINT32_MAX)
    window_start = nbf + _offset(p.raw(P_WINDOW_OFFSET, "window_offset"))
    window_end = window_start + p.uint(P_WINDOW_LENGTH, "window_length", maximum=UINT32_MAX)
    if not 0 <= window_start < window_end <= UINT32_MAX:
        raise _fail("the work window must be a non-empty interval of unix times", "window_length")
    claims = PermitClaims(
        iss=f.text(ISS, "iss", max_len=MAX_TEXT_BYTES), sub=f.text(SUB, "sub", max_len=MAX_TEXT_BYTES),
        iat=f.uint(IAT, "iat", maximum=UINT32_MAX), nbf=nbf,
        exp=f.uint(EXP, "exp", maximum=UINT32_MAX), cti=f.bstr(CTI, "cti", size=ID_LEN), holder_key=holder_key,
        permit_id=p.bstr(P_PERMIT, "permit_id", size=ID_LEN),
        enterprise_id=p.bstr(P_ENTERPRISE, "enterprise_id", size=ID_LEN),
        space_id=p.bstr(P_SPACE, "space_id", size=ID_LEN), worker_id=p.bstr(P_WORKER, "worker_id", size=ID_LEN),
        lock_ids=tuple(bstr_of(lock, "lock_ids", size=LOCK_ID_LEN, what="claims", error=TokenError)
                       for lock in locks),
        window_start=window_start, window_end=window_end,
        max_duration_s=p.uint(P_MAX_DURATION, "max_duration_s", maximum=MAX_DURATION_S),
        entrant_limit=p.uint(P_ENTRANTS, "entrant_limit", maximum=MAX_ENTRANTS),
        gas_test_required=p.boolean(P_GAS, "gas_test_required"), drill=p.boolean(P_DRILL, "drill"),
    )
    p.finish()
    f.finish()
    _check_consistent(claims)
    if claims.to_cbor() != payload:  # one claims set, one encoding: no tags, duplicate keys, long heads, bool keys
        raise _fail("the claims set is not deterministically encoded", "encoding")
    return claims


def _offset(value: Any) -> int:
    if type(value) is not int or not -UINT32_MAX <= value <= UINT32_MAX:
        raise _fail("window_offset must be an integer number of seconds from nbf", "window_offset")
    return value


def _check_consistent(c: PermitClaims) -> None:
    if not c.iss or not c.sub:
        raise _fail("iss and sub must not be empty", "iss" if not c.iss else "sub")
    if not c.lock_ids or len(set(c.lock_ids)) != len(c.lock_ids):
        raise _fail(f"lock_ids must list 1..{MAX_LOCKS} distinct locks", "lock_ids")
    if c.nbf >= c.exp:
        raise _fail("exp must be after nbf", "exp")
    if c.window_start >= c.window_end:
        raise _fail("window_end must be after window_start", "window_end")
    if c.valid_from >= c.valid_until:
        raise _fail("the validity [nbf, exp) and the work window do not overlap", "window_start")
    if c.max_duration_s < 1 or c.entrant_limit < 1:
        raise _fail("max_duration_s and entrant_limit must be at least 1",
                    "max_duration_s" if c.max_duration_s < 1 else "entrant_limit")


def issue_token(claims: PermitClaims, key: Ed25519PrivateKey, *, kid: bytes, alg: int = crypto.ALG_ED25519) -> bytes:
    """Sign ``claims`` as a COSE_Sign1 (tag 18, alg -19, ``kid`` protected). Invalid claims: TokenError malformed.

    ``alg`` -8 (polymorphic EdDSA, same signature) exists only to make compatibility vectors.
    """
    if alg not in crypto.ACCEPTED_ALGS:
        raise ValueError(f"alg must be one of {sorted(crypto.ACCEPTED_ALGS)}")
    payload = claims.to_cbor()
    claims_from_cbor(payload)  # the one definition of a valid token binds the issuer too
    token = crypto.sign1(payload, key, kid=kid, extra_protected={crypto.HDR_ALG: alg})
    _decode_cose(token)  # kid length, size
    return token


def _decode_cose(token: bytes) -> crypto.Sign1:
    return crypto.decode_sign1_strict(token, max_bytes=MAX_TOKEN_BYTES, error=TokenError)


def decode_token(token: bytes) -> PermitClaims:
    """The claims of a token WITHOUT checking its signature (display and routing only); TokenError malformed."""
    return claims_from_cbor(_decode_cose(token).payload)


def token_hash(token: bytes) -> bytes:
    """SHA-256 of the token bytes as presented; binds a PoP signature to this exact token."""
    return crypto.sha256(token)


def verify_token(token: bytes, *, issuer_keys: Mapping[bytes, Ed25519PublicKey], now: int, lock_id: bytes,
                 revocations: RevocationList | None = None, skew_s: int = DEFAULT_SKEW_S) -> PermitClaims:
    """Verify a token for ``lock_id`` at ``now`` (unix seconds) and return its claims.

    Checks in this order, the first failure decides the TokenError code (token.md §5): COSE structure
    (malformed) → kid (unknown_kid) → signature (bad_signature) → claims (malformed) → revoked →
    not_yet_valid → expired → wrong_lock. The claims are parsed only once the signature verified.
    """
    if skew_s < 0:
        raise ValueError("skew_s must not be negative")
    msg = _decode_cose(token)
    crypto.verify_sign1(msg, issuer_keys, error=TokenError)
    claims = claims_from_cbor(msg.payload)
    if revocations is not None and revocations.is_revoked(claims):
        raise TokenError("the token has been revoked", code="revoked", field="cti")
    if now + skew_s < claims.valid_from:
        raise TokenError("the token is not valid yet", code="not_yet_valid", field="nbf")
    if now - skew_s >= claims.valid_until:
        raise TokenError("the token has expired", code="expired", field="exp")
    if lock_id not in claims.lock_ids:
        raise TokenError("the token does not name this lock", code="wrong_lock", field="lock_ids")
    return claims


def pop_message(challenge: bytes, lock_id: bytes, token_digest: bytes) -> bytes:
    """The bytes the holder key signs: ["safegrid/permit-pop/v1", challenge, lock_id, token hash] in CBOR."""
    return cbor.dumps([POP_CONTEXT, bytes(challenge), bytes(lock_id), bytes(token_digest)])


def sign_pop(holder: Ed25519PrivateKey, challenge: bytes, lock_id: bytes, token_digest: bytes) -> bytes:
    """The phone's proof of possession for an unlock: 64 bytes."""
    return holder.sign(pop_message(challenge, lock_id, token_digest))


def check_unlock(token: bytes, pop_signature: bytes, challenge: bytes, *,
                 issuer_keys: Mapping[bytes, Ed25519PublicKey], now: int, lock_id: bytes,
                 revocations: RevocationList | None = None, skew_s: int = DEFAULT_SKEW_S) -> PermitClaims:
    """Everything a padlock checks about a presented token: :func:`verify_token`, then ``bad_pop``.

    ``challenge`` is the exact challenge message this lock sent; the caller has checked it is fresh and unused.
    """
    claims = verify_token(token, issuer_keys=issuer_keys, now=now, lock_id=lock_id, revocations=revocations,
                          skew_s=skew_s)
    holder = crypto.public_key_from_raw(claims.holder_key, error=TokenError, field="cnf")
    if not crypto.verify_raw(holder, pop_signature, pop_message(challenge, lock_id, token_hash(token))):
        raise TokenError("the proof of possession does not verify with the token's holder key", code="bad_pop")
    return claims


def claims_to_json(claims: PermitClaims) -> dict[str, Any]:
    """The claims as JSON-ready values, byte strings in hex (vector files, logs, the cloud's API)."""
    def plain(value: Any) -> Any:
        if isinstance(value, bytes):
            return value.hex()
        return [v.hex() for v in value] if isinstance(value, tuple) else value

    return {name: plain(getattr(claims, name)) for name in PermitClaims.__slots__}
