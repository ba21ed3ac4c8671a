"""Signed revocation lists of permit tokens (spec: ``protocols/token.md`` §6).

A list names revoked token ids (``cti``) and a ``min_iat`` epoch: every token issued before it is revoked
too, so when more tokens are revoked than a list may carry the issuer raises the epoch instead of
growing the list. Lists are versioned; a lock adopts only a list that supersedes the one it holds.
This module does not import ``protocols.token`` (which imports it): it needs only a token's cti and iat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocols import cbor, crypto
from protocols.errors import TokenError
from protocols.fields import FieldReader, bstr_of

#: External AAD of a revocation-list signature: no token or other signed format verifies as a list.
REVOCATION_AAD = b"safegrid/revocation-list/v1"
TOKEN_ID_LEN = 16
#: At most this many ids: a signed list then stays under MAX_REVOCATION_LIST_BYTES, inside one 4 KiB GATT message.
MAX_REVOKED = 200
MAX_REVOCATION_LIST_BYTES = 3800
UINT32_MAX = 2**32 - 1

# Payload map labels.
RL_VERSION, RL_ISSUED_AT, RL_MIN_IAT, RL_REVOKED = 1, 2, 3, 4


class TokenIdentity(Protocol):
    """What revocation needs of a token's claims (``protocols.token.PermitClaims`` has both)."""

    @property
    def cti(self) -> bytes: ...

    @property
    def iat(self) -> int: ...


@dataclass(frozen=True, slots=True)
class RevocationList:
    version: int  # ≥ 1, strictly increasing per issuer domain
    issued_at: int  # unix seconds
    min_iat: int  # tokens with iat < min_iat are revoked; 0: none by epoch
    revoked: frozenset[bytes]  # revoked token ids (cti), 16 bytes each

    def is_revoked(self, claims: TokenIdentity) -> bool:
        return claims.cti in self.revoked or claims.iat < self.min_iat

    def supersedes(self, other: RevocationList | None) -> bool:
        """True when this list may replace ``other`` (none held, or this one is strictly newer)."""
        return other is None or self.version > other.version


def make_revocation_list(version: int, issued_at: int, revoked: Mapping[bytes, int], *, min_iat: int = 0,
                         max_ids: int = MAX_REVOKED) -> RevocationList:
    """A list revoking ``revoked`` (cti → that token's iat) that fits in ``max_ids`` ids.

    When there are too many, ``min_iat`` is raised past the oldest ids until the rest fit: those tokens and
    every other token issued before the new epoch are revoked, and their holders need fresh tokens.
    """
    kept = {cti: iat for cti, iat in revoked.items() if iat >= min_iat}
    by_age = sorted(set(kept.values()))
    while len(kept) > max_ids:
        min_iat = by_age.pop(0) + 1
        kept = {cti: iat for cti, iat in kept.items() if iat >= min_iat}
    return RevocationList(version=version, issued_at=issued_at, min_iat=min_iat, revoked=frozenset(kept))


def encode_revocation_payload(rl: RevocationList) -> bytes:
    """The deterministic CBOR payload of a list; ids sorted so one list has one encoding."""
    return cbor.dumps({RL_VERSION: rl.version, RL_ISSUED_AT: rl.issued_at, RL_MIN_IAT: rl.min_iat,
                       RL_REVOKED: sorted(rl.revoked)})


def decode_revocation_payload(payload: bytes) -> RevocationList:
    """Strictly decode a list payload (not its signature); anything else is TokenError ``malformed``."""
    f = FieldReader(cbor.loads(payload, max_bytes=MAX_REVOCATION_LIST_BYTES, error=TokenError),
                    what="revocation_list", error=TokenError)
    version = f.uint(RL_VERSION, "version", maximum=UINT32_MAX)
    issued_at = f.uint(RL_ISSUED_AT, "issued_at", maximum=UINT32_MAX)
    min_iat = f.uint(RL_MIN_IAT, "min_iat", maximum=UINT32_MAX)
    ids = [bstr_of(v, "revoked", size=TOKEN_ID_LEN, what="revocation_list", error=TokenError)
           for v in f.array(RL_REVOKED, "revoked", max_items=MAX_REVOKED)]
    f.finish()
    if version < 1:
        raise TokenError("revocation_list: version starts at 1", field="version")
    if min_iat > issued_at:
        raise TokenError("revocation_list: min_iat is after issued_at", field="min_iat")
    if any(a >= b for a, b in pairwise(ids)):
        raise TokenError("revocation_list: ids must be sorted and unique", field="revoked")
    rl = RevocationList(version=version, issued_at=issued_at, min_iat=min_iat, revoked=frozenset(ids))
    if encode_revocation_payload(rl) != payload:  # one list, one encoding (no tags, duplicates, long heads)
        raise TokenError("revocation_list: not deterministically encoded", field="encoding")
    return rl


def sign_revocation_list(rl: RevocationList, key: Ed25519PrivateKey, *, kid: bytes) -> bytes:
    """COSE_Sign1 (tag 18, alg -19) over the list. An invalid list raises TokenError ``malformed``."""
    if len(rl.revoked) > MAX_REVOKED:
        raise TokenError(f"{len(rl.revoked)} ids exceed {MAX_REVOKED}: raise min_iat instead (make_revocation_list)",
                         field="revoked")
    payload = encode_revocation_payload(rl)
    decode_revocation_payload(payload)  # the one definition of a valid list applies to the signer too
    signed = crypto.sign1(payload, key, kid=kid, external_aad=REVOCATION_AAD)
    if len(signed) > MAX_REVOCATION_LIST_BYTES:
        raise TokenError(f"the signed list is {len(signed)} bytes, over {MAX_REVOCATION_LIST_BYTES}", field="revoked")
    return signed


def verify_revocation_list(data: bytes, issuer_keys: Mapping[bytes, Ed25519PublicKey]) -> RevocationList:
    """Verify a signed list against the trusted issuer keys (by kid).

    TokenError codes: ``malformed``, ``unknown_kid``, ``bad_signature`` — in that order, and the payload is
    decoded only once its signature verified.
    """
    msg = crypto.decode_sign1_strict(data, max_bytes=MAX_REVOCATION_LIST_BYTES, error=TokenError)
    crypto.verify_sign1(msg, issuer_keys, external_aad=REVOCATION_AAD, error=TokenError)
    return decode_revocation_payload(msg.payload)


def revocation_list_to_json(rl: RevocationList) -> dict[str, Any]:
    """The list as JSON-ready values (for vector files and logs)."""
    return {"version": rl.version, "issued_at": rl.issued_at, "min_iat": rl.min_iat,
            "revoked": [cti.hex() for cti in sorted(rl.revoked)]}
