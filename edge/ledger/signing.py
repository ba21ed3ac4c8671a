"""The gateway's signature over a ledger head, so the cloud can hold the gateway to it.

A signed head is a COSE_Sign1 (Ed25519, alg -19, kid of the gateway key) over the canonical CBOR map
``{1: seq, 2: hash}`` with the external AAD ``safegrid/ledger-head/v1`` (so no other SafeGrid signature
verifies as a head). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.ledger.chain import HASH_LEN, Head, LedgerError
from protocols import cbor, crypto
from protocols.errors import ProtocolError

LEDGER_HEAD_AAD = b"safegrid/ledger-head/v1"
MAX_SIGNED_HEAD_BYTES = 512


def sign_head(head: Head, key: Ed25519PrivateKey) -> bytes:
    return crypto.sign1(cbor.dumps({1: head.seq, 2: head.hash}), key, kid=crypto.key_id(key),
                        external_aad=LEDGER_HEAD_AAD)


def verify_signed_head(data: bytes, keys: Mapping[bytes, Ed25519PublicKey]) -> Head:
    """The head a trusted gateway key signed; LedgerError (code from the COSE check, or malformed) otherwise."""
    try:
        msg = crypto.decode_sign1(data, max_bytes=MAX_SIGNED_HEAD_BYTES)
        crypto.verify_sign1(msg, keys, external_aad=LEDGER_HEAD_AAD)
        payload = cbor.loads(msg.payload, max_bytes=MAX_SIGNED_HEAD_BYTES)
    except ProtocolError as exc:
        raise LedgerError(f"signed head refused: {exc}", code=exc.code, field="signed_head") from None
    if not isinstance(payload, dict) or set(payload) != {1, 2}:
        raise LedgerError("a signed head is the map {1: seq, 2: hash}", code="malformed", field="signed_head")
    seq, digest = payload[1], payload[2]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise LedgerError("head seq must be an unsigned integer", code="malformed", field="seq")
    if not isinstance(digest, bytes) or len(digest) != HASH_LEN:
        raise LedgerError(f"head hash must be {HASH_LEN} bytes", code="malformed", field="hash")
    return Head(seq, digest)
