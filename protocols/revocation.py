"""Signed revocation lists of permit tokens (spec: ``protocols/token.md`` §7).

A list names revoked token ids (``cti``) and a ``min_iat`` epoch: every token of its space issued before it
is revoked too, so when more tokens are revoked than a list may carry the issuer raises the epoch instead of
growing the list. A list is bound, inside the signed payload, to its scope: the space whose tokens it revokes
and the locks it is for. Versions count per space; a lock adopts only a list addressed to it that supersedes
the one it holds, so one space's list never replaces (rolls back) another's.
This module does not import ``protocols.token`` (which imports it): it needs only a token's cti, iat and space.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
SPACE_ID_LEN = 16
LOCK_ID_LEN = 8
#: The locks one list may name (as many as a token may): a space with more locks gets one list per group.
MAX_LIST_LOCKS = 16
#: At most this many ids: a signed list then stays under MAX_REVOCATION_LIST_BYTES, inside one 4 KiB GATT message.
MAX_REVOKED = 200
MAX_REVOCATION_LIST_BYTES = 3800
UINT32_MAX = 2**32 - 1

# Payload map labels.
RL_VERSION, RL_ISSUED_AT, RL_MIN_IAT, RL_REVOKED, RL_SPACE, RL_LOCKS = 1, 2, 3, 4, 5, 6


class TokenIdentity(Protocol):
    """What revocation needs of a token's claims (``protocols.token.PermitClaims`` has both)."""

    @property
    def cti(self) -> bytes: ...

    @property
    def iat(self) -> int: ...

    @property
    def space_id(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class RevocationList:
    version: int  # ≥ 1, strictly increasing per space
    issued_at: int  # unix seconds
    min_iat: int  # tokens of the space with iat < min_iat are revoked; 0: none by epoch
    revoked: frozenset[bytes]  # revoked token ids (cti), 16 bytes each
    space_id: bytes  # the scope: the space (16 bytes) whose tokens this list revokes and which counts its versions
    lock_ids: frozenset[bytes]  # the locks (8 bytes each, 1..16) this list is for: a lock refuses a list not naming it

    def is_revoked(self, claims: TokenIdentity) -> bool:
        """A listed token id, or a token of this list's space issued before the epoch."""
        return claims.cti in self.revoked or (claims.space_id == self.space_id and claims.iat < self.min_iat)

    def addressed_to(self, lock_id: bytes) -> bool:
        return lock_id in self.lock_ids

    def supersedes(self, other: RevocationList | None) -> bool:
        """True when this list may replace ``other``: none held; the same space and a higher version; or another
        space (the lock was moved) and a later ``issued_at``, so a list from before the move cannot come back."""
        if other is None:
            return True
        if self.space_id == other.space_id:
            return self.version > other.version
        return self.issued_at > other.issued_at


def make_revocation_list(version: int, issued_at: int, revoked: Mapping[bytes, int], *, space_id: bytes,
                         lock_ids: Iterable[bytes], min_iat: int = 0, max_ids: int = MAX_REVOKED) -> RevocationList:
    """A list revoking ``revoked`` (cti → that token's iat) that fits in ``max_ids`` ids.

    When there are too many, ``min_iat`` is raised past the oldest ids until the rest fit: those tokens and
    every other token issued before the new epoch are revoked, and their holders need fresh tokens.
    """
    kept = {cti: iat for cti, iat in revoked.items() if iat >= min_iat}
    by_age = sorted(set(kept.values()))
    while len(kept) > max_ids:
        min_iat = by_age.pop(0) + 1
        kept = {cti: iat for cti, iat in kept.items() if iat >= min_iat}
    return RevocationList(version=version, issued_at=issued_at, min_iat=min_iat, revoked=frozenset(kept),
                          space_id=space_id, lock_ids=frozenset(lock_ids))


def encode_revocation_payload(rl: RevocationList) -> bytes:
    """The deterministic CBOR payload of a list; ids sorted so one list has one encoding."""
    return cbor.dumps({RL_VERSION: rl.version, RL_ISSUED_AT: rl.issued_at, RL_MIN_IAT: rl.min_iat,
                       RL_REVOKED: sorted(rl.revoked), RL_SPACE: rl.space_id, RL_LOCKS: sorted(rl.lock_ids)})


def decode_revocation_payload(payload: bytes) -> RevocationList:
    """Strictly decode a list payload (not its signature); anything else is TokenError ``malformed``."""
    f = FieldReader(cbor.loads(payload, max_bytes=MAX_REVOCATION_LIST_BYTES, error=TokenError),
                    what="revocation_list", error=TokenError)
    version = f.uint(RL_VERSION, "version", maximum=UINT32_MAX)
    issued_at = f.uint(RL_ISSUED_AT, "issued_at", maximum=UINT32_MAX)
    min_iat = f.uint(RL_MIN_IAT, "min_iat", maximum=UINT32_MAX)
    ids = [bstr_of(v, "revoked", size=TOKEN_ID_LEN, what="revocation_list", error=TokenError)
           for v in f.array(RL_REVOKED, "revoked", max_items=MAX_REVOKED)]
    space_id = f.bstr(RL_SPACE, "space_id", size=SPACE_ID_LEN)
    locks = [bstr_of(v, "lock_ids", size=LOCK_ID_LEN, what="revocation_list", error=TokenError)
             for v in f.array(RL_LOCKS, "lock_ids", max_items=MAX_LIST_LOCKS)]
    f.finish()
    if version < 1:
        raise TokenError("revocation_list: version starts at 1", field="version")
    if min_iat > issued_at:
        raise TokenError("revocation_list: min_iat is after issued_at", field="min_iat")
    if any(a >= b for a, b in pairwise(ids)):
        raise TokenError("revocation_list: ids must be sorted and unique", field="revoked")
    if not locks:
        raise TokenError("revocation_list: a list names at least one lock", field="lock_ids")
    if any(a >= b for a, b in pairwise(locks)):
        raise TokenError("revocation_list: lock ids must be sorted and unique", field="lock_ids")
    rl = RevocationList(version=version, issued_at=issued_at, min_iat=min_iat, revoked=frozenset(ids),
                        space_id=space_id, lock_ids=frozenset(locks))
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


def decode_revocation_list(data: bytes) -> RevocationList:
    """A signed list's body WITHOUT checking its signature: for routing it to the locks it names (a gateway),
    never for a decision — the lock verifies. TokenError ``malformed``."""
    msg = crypto.decode_sign1_strict(data, max_bytes=MAX_REVOCATION_LIST_BYTES, error=TokenError)
    return decode_revocation_payload(msg.payload)


def verify_revocation_list(data: bytes, issuer_keys: Mapping[bytes, Ed25519PublicKey]) -> RevocationList:
    """Verify a signed list against the trusted issuer keys (by kid).

    TokenError codes: ``malformed``, ``unknown_kid``, ``bad_signature`` — in that order, and the payload is
    decoded only once its signature verified.
    """
    msg = crypto.decode_sign1_strict(data, max_bytes=MAX_REVOCATION_LIST_BYTES, error=TokenError)
    crypto.verify_sign1(msg, issuer_keys, external_aad=REVOCATION_AAD, error=TokenError)
    return decode_revocation_payload(msg.payload)


def revocation_list_to_json(rl: RevocationList) -> dict[str, Any]:
    """The list as JSON-ready values (for vector files, logs and a lock's saved state)."""
    return {"version": rl.version, "issued_at": rl.issued_at, "min_iat": rl.min_iat,
            "revoked": [cti.hex() for cti in sorted(rl.revoked)], "space_id": rl.space_id.hex(),
            "lock_ids": [lock.hex() for lock in sorted(rl.lock_ids)]}


def revocation_list_from_json(data: Mapping[str, Any]) -> RevocationList:
    """The inverse of :func:`revocation_list_to_json`, checked like a decoded list (TokenError ``malformed``)."""
    try:
        rl = RevocationList(version=data["version"], issued_at=data["issued_at"], min_iat=data["min_iat"],
                            revoked=frozenset(bytes.fromhex(c) for c in data["revoked"]),
                            space_id=bytes.fromhex(data["space_id"]),
                            lock_ids=frozenset(bytes.fromhex(lock) for lock in data["lock_ids"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenError(f"revocation_list: not a saved list: {exc!r}", field="revocation_list") from None
    decode_revocation_payload(encode_revocation_payload(rl))
    return rl
