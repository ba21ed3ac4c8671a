"""Signed pushes from the gateway to a lock: trust list, time set, revocation list and gas attestation.

Each signed structure is a COSE_Sign1 (alg -19, kid in the protected header) over a CBOR map, with a
per-type external AAD so a signature made for one purpose never verifies as another:

- trust list — signed by a cloud issuer key the lock already trusts; names the locks it is for;
  versioned, an older or equal version is refused (``stale``).
- time set — signed by the gateway key; bound to the lock id and to the nonce of a fresh TIME_SET challenge.
- revocation list — the bytes of ``protocols.revocation`` carried unchanged; must name this lock (its scope is
  bound in the signed payload) and supersede the held list (versions count per space).
- gas attestation — signed by the gateway key; valid at most 30 minutes after the measurement; a lock
  refuses one not measured later than the attestation it holds, so an old "all in range" cannot be replayed.

Verifiers raise ``GattError`` whose ``code`` is the result code to answer (``results.push_result``);
``decide_push`` is the reference lock-side handling of every push, provisioning included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocols import cbor, crypto
from protocols.errors import GattError, ProtocolError
from protocols.fields import FieldReader, bstr_of, public_keys
from protocols.padlock.challenges import PendingChallenge, challenge_problem
from protocols.padlock.gatt import CHALLENGE_TTL_S, ID_LEN, LOCK_ID_LEN, MAX_ATTESTATION_AGE_S, NONCE_LEN
from protocols.padlock.messages import (
    MAX_SIGNED_PUSH_BYTES,
    GasAttestationPush,
    Message,
    Provision,
    Purpose,
    RevocationPush,
    TimeSetPush,
    TrustListPush,
)
from protocols.padlock.results import push_result
from protocols.revocation import RevocationList, verify_revocation_list

TRUST_LIST_AAD = b"safegrid/padlock/trust-list/v1"
TIME_SET_AAD = b"safegrid/padlock/time-set/v1"
GAS_ATTESTATION_AAD = b"safegrid/padlock/gas-attestation/v1"
MAX_TRUST_LIST_LOCKS = 64


@dataclass(frozen=True, slots=True)
class LockTrust:
    """What a provisioned lock trusts: its id, the issuer keys by kid, and its gateway's key."""

    lock_id: bytes
    issuer_keys: Mapping[bytes, Ed25519PublicKey] = field(hash=False)
    gateway_key: Ed25519PublicKey

    @classmethod
    def from_provision(cls, provision: Provision) -> LockTrust:
        return cls(lock_id=provision.lock_id,
                   issuer_keys={kid: crypto.public_key_from_raw(raw, error=GattError, field="issuer_keys")
                                for kid, raw in provision.issuer_keys.items()},
                   gateway_key=crypto.public_key_from_raw(provision.gateway_key, error=GattError, field="gateway_key"))

    @classmethod
    def from_trust_list(cls, lock_id: bytes, trust_list: TrustList) -> LockTrust:
        return cls(lock_id=lock_id, issuer_keys=trust_list.issuer_public_keys(),
                   gateway_key=trust_list.gateway_public_key())


def _keys(public: Ed25519PublicKey) -> dict[bytes, Ed25519PublicKey]:
    return {crypto.key_id(public): public}


def _verified_payload(data: bytes, keys: Mapping[bytes, Ed25519PublicKey], aad: bytes, what: str) -> FieldReader:
    sign1 = crypto.decode_sign1_strict(data, max_bytes=MAX_SIGNED_PUSH_BYTES, error=GattError)
    crypto.verify_sign1(sign1, keys, external_aad=aad, error=GattError)
    return FieldReader(cbor.loads(sign1.payload, max_bytes=MAX_SIGNED_PUSH_BYTES, error=GattError), what=what)


@dataclass(frozen=True, slots=True)
class TrustList:
    version: int  # ≥ 1 (provisioning is version 0)
    issued_at: int
    lock_ids: tuple[bytes, ...]  # the locks this list is for
    issuer_keys: Mapping[bytes, bytes] = field(hash=False)  # kid → raw public key: token and trust-list signers
    gateway_key: bytes  # raw public key: signs time sets and gas attestations

    def payload(self) -> bytes:
        return cbor.dumps({1: self.version, 2: self.issued_at, 3: list(self.lock_ids), 4: dict(self.issuer_keys),
                           5: self.gateway_key})

    def issuer_public_keys(self) -> dict[bytes, Ed25519PublicKey]:
        return {kid: crypto.public_key_from_raw(raw, error=GattError, field="issuer_keys")
                for kid, raw in self.issuer_keys.items()}

    def gateway_public_key(self) -> Ed25519PublicKey:
        return crypto.public_key_from_raw(self.gateway_key, error=GattError, field="gateway_key")


def sign_trust_list(trust_list: TrustList, key: Ed25519PrivateKey, *, kid: bytes) -> bytes:
    return crypto.sign1(trust_list.payload(), key, kid=kid, external_aad=TRUST_LIST_AAD)


def verify_trust_list(data: bytes, *, issuer_keys: Mapping[bytes, Ed25519PublicKey], lock_id: bytes,
                      current_version: int) -> TrustList:
    """A trust list signed by a currently trusted issuer, naming this lock, newer than ``current_version``."""
    f = _verified_payload(data, issuer_keys, TRUST_LIST_AAD, "trust list")
    locks = f.array(3, "lock_ids", max_items=MAX_TRUST_LIST_LOCKS)
    trust_list = TrustList(version=f.uint(1, "version"), issued_at=f.uint(2, "issued_at"),
                           lock_ids=tuple(bstr_of(x, "lock_ids", size=LOCK_ID_LEN, what="trust list") for x in locks),
                           issuer_keys=public_keys(f, 4, "issuer_keys"), gateway_key=f.bstr(5, "gateway_key", size=32))
    f.finish()
    trust_list.issuer_public_keys()  # every key must be a valid point before the lock adopts the list
    trust_list.gateway_public_key()
    if lock_id not in trust_list.lock_ids:
        raise GattError("the trust list is not for this lock", code="wrong_lock", field="lock_ids")
    if trust_list.version <= current_version:
        raise GattError(f"trust list version {trust_list.version} is not newer than {current_version}",
                        code="stale", field="version")
    return trust_list


@dataclass(frozen=True, slots=True)
class TimeSet:
    lock_id: bytes
    nonce: bytes  # of the lock's outstanding TIME_SET challenge
    time: int  # Unix seconds

    def payload(self) -> bytes:
        return cbor.dumps({1: self.lock_id, 2: self.nonce, 3: self.time})


def sign_time_set(time_set: TimeSet, gateway_key: Ed25519PrivateKey) -> bytes:
    return crypto.sign1(time_set.payload(), gateway_key, kid=crypto.key_id(gateway_key), external_aad=TIME_SET_AAD)


def verify_time_set(data: bytes, *, gateway_key: Ed25519PublicKey, lock_id: bytes,
                    challenge: PendingChallenge | None, now: int, ttl_s: int = CHALLENGE_TTL_S) -> TimeSet:
    """A time set from the trusted gateway for this lock answering its pending TIME_SET challenge.

    The caller spends the challenge whatever the outcome.
    """
    f = _verified_payload(data, _keys(gateway_key), TIME_SET_AAD, "time set")
    time_set = TimeSet(lock_id=f.bstr(1, "lock_id", size=LOCK_ID_LEN), nonce=f.bstr(2, "nonce", size=NONCE_LEN),
                       time=f.uint(3, "time"))
    f.finish()
    if time_set.lock_id != lock_id:
        raise GattError("the time set is for another lock", code="wrong_lock", field="lock_id")
    problem = challenge_problem(challenge, nonce=time_set.nonce, purpose=Purpose.TIME_SET, lock_id=lock_id, now=now,
                                ttl_s=ttl_s)
    if problem:
        raise GattError("the time set does not answer the pending challenge", code=problem, field="nonce")
    return time_set


@dataclass(frozen=True, slots=True)
class GasAttestation:
    space_id: bytes
    all_in_range: bool
    measured_at: int
    valid_until: int  # measured_at < valid_until ≤ measured_at + 30 minutes

    def __post_init__(self) -> None:
        if not self.measured_at < self.valid_until <= self.measured_at + MAX_ATTESTATION_AGE_S:
            raise GattError("an attestation is valid for 1 s to 30 minutes after its measurement",
                            field="valid_until")

    def payload(self) -> bytes:
        return cbor.dumps({1: self.space_id, 2: self.all_in_range, 3: self.measured_at, 4: self.valid_until})


def sign_gas_attestation(attestation: GasAttestation, gateway_key: Ed25519PrivateKey) -> bytes:
    return crypto.sign1(attestation.payload(), gateway_key, kid=crypto.key_id(gateway_key),
                        external_aad=GAS_ATTESTATION_AAD)


def verify_gas_attestation(data: bytes, *, gateway_key: Ed25519PublicKey,
                           held: GasAttestation | None = None) -> GasAttestation:
    """An attestation signed by the trusted gateway; ``stale`` unless measured later than the ``held`` one."""
    f = _verified_payload(data, _keys(gateway_key), GAS_ATTESTATION_AAD, "gas attestation")
    attestation = GasAttestation(space_id=f.bstr(1, "space_id", size=ID_LEN), all_in_range=f.boolean(2, "all_in_range"),
                                 measured_at=f.uint(3, "measured_at"), valid_until=f.uint(4, "valid_until"))
    f.finish()
    if held is not None and attestation.measured_at <= held.measured_at:
        raise GattError("the attestation is not newer than the one held", code="stale", field="measured_at")
    return attestation


def verify_revocation_push(data: bytes, *, issuer_keys: Mapping[bytes, Ed25519PublicKey], lock_id: bytes,
                           current: RevocationList | None) -> RevocationList:
    """A revocation list signed by a trusted issuer, addressed to ``lock_id``, that supersedes the ``current`` one.

    A list for other locks is ``wrong_lock`` — checked before ``stale``, so a lock never compares versions
    across scopes that are not its own.
    """
    try:
        revocations = verify_revocation_list(data, issuer_keys)
    except GattError:
        raise
    except ProtocolError as exc:
        raise GattError(f"revocation list refused: {exc}", code=exc.code, field="revocation_list") from exc
    if not revocations.addressed_to(lock_id):
        raise GattError("the revocation list is not for this lock", code="wrong_lock", field="lock_ids")
    if not revocations.supersedes(current):
        raise GattError("the revocation list does not supersede the one held", code="stale", field="version")
    return revocations


PushValue = TrustList | TimeSet | RevocationList | GasAttestation | LockTrust


@dataclass(frozen=True, slots=True)
class PushDecision:
    result: str  # a name from protocols.padlock.results.RESULT_CODES
    value: PushValue | None = None  # what the lock adopts when the result is ok or deferred


def decide_push(push: Message, *, trust: LockTrust | None, now: int, trust_version: int,
                revocations: RevocationList | None, held_attestation: GasAttestation | None,
                challenge: PendingChallenge | None, provisioning_mode: bool = False,
                session_open: bool = False) -> PushDecision:
    """The reference lock-side handling of a decoded push: the result to answer and the value to adopt.

    A trust list or revocation list accepted while a session is open is ``deferred``: the lock applies it
    when the session closes. A time set spends the pending challenge whatever the result.
    """
    if isinstance(push, Provision):
        if not provisioning_mode:
            return PushDecision("not_in_provisioning_mode")
        try:
            return PushDecision("ok", LockTrust.from_provision(push))
        except GattError:
            return PushDecision("bad_request")
    if trust is None:
        return PushDecision("not_provisioned")
    try:
        value: PushValue
        if isinstance(push, TrustListPush):
            value = verify_trust_list(push.signed, issuer_keys=trust.issuer_keys, lock_id=trust.lock_id,
                                      current_version=trust_version)
        elif isinstance(push, RevocationPush):
            value = verify_revocation_push(push.signed, issuer_keys=trust.issuer_keys, lock_id=trust.lock_id,
                                           current=revocations)
        elif isinstance(push, TimeSetPush):
            value = verify_time_set(push.signed, gateway_key=trust.gateway_key, lock_id=trust.lock_id,
                                    challenge=challenge, now=now)
        elif isinstance(push, GasAttestationPush):
            value = verify_gas_attestation(push.signed, gateway_key=trust.gateway_key, held=held_attestation)
        else:
            return PushDecision("unsupported")
    except ProtocolError as exc:
        return PushDecision(push_result(exc))
    deferred = session_open and isinstance(value, TrustList | RevocationList)
    return PushDecision("deferred" if deferred else "ok", value)
