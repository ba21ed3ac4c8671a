"""Test vectors of the padlock GATT protocol: a full unlock exchange, fragmentation, unlock and push cases.

The file layout is described in ``protocols/padlock.md`` §10. Everything is derived from fixed seeds, so
``build()`` reproduces the checked-in file byte for byte.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocols import crypto
from protocols.padlock import messages as m
from protocols.padlock.advertising import LockAdvert, LockState, scan_response
from protocols.padlock.audit import GENESIS_HASH, sign_entry
from protocols.padlock.events import EventKind, EventPermit, LockEvent
from protocols.padlock.fragment import fragment
from protocols.padlock.gatt import PROTOCOL_VERSION
from protocols.padlock.pushes import (
    GasAttestation,
    TimeSet,
    TrustList,
    sign_gas_attestation,
    sign_time_set,
    sign_trust_list,
)
from protocols.revocation import RevocationList, sign_revocation_list
from protocols.token import DEFAULT_SKEW_S, PermitClaims, issue_token, pop_message, sign_pop, token_hash
from protocols.vectorgen import seeded_bytes, seeded_key

FILENAME = "padlock_unlock.json"

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z, the lock's trusted time during the exchange

ISSUER = seeded_key("padlock/issuer")
WORKER = seeded_key("padlock/worker")
GATEWAY = seeded_key("padlock/gateway")
LOCK = seeded_key("padlock/lock")
ROGUE = seeded_key("padlock/rogue")  # a key nobody trusts
ISSUER_KID = crypto.key_id(ISSUER)
LOCK_ID = seeded_bytes("padlock/lock-id", 8)
OTHER_LOCK_ID = seeded_bytes("padlock/other-lock-id", 8)
SPACE_ID = seeded_bytes("padlock/space-id", 16)
OTHER_SPACE_ID = seeded_bytes("padlock/other-space-id", 16)


def hexs(data: bytes) -> str:
    return data.hex()


def claims(**changes: Any) -> PermitClaims:
    """The permit of the exchange: one worker, this lock, gas test required; ``changes`` vary it."""
    base = PermitClaims(
        iss="safegrid-cloud", sub="worker", iat=NOW - 3600, nbf=NOW - 600, exp=NOW + 4 * 3600,
        cti=seeded_bytes("padlock/cti", 16), holder_key=crypto.public_raw(WORKER),
        permit_id=seeded_bytes("padlock/permit-id", 16), enterprise_id=seeded_bytes("padlock/enterprise-id", 16),
        space_id=SPACE_ID, worker_id=seeded_bytes("padlock/worker-id", 16), lock_ids=(LOCK_ID,),
        window_start=NOW - 600, window_end=NOW + 4 * 3600, max_duration_s=2 * 3600, entrant_limit=2,
        gas_test_required=True, drill=False)
    return dataclasses.replace(base, **changes)


def token(permit: PermitClaims | None = None, *, key: Ed25519PrivateKey = ISSUER, kid: bytes = ISSUER_KID) -> bytes:
    return issue_token(permit or claims(), key, kid=kid)


def challenge(*, counter: int = 42, lock_time: int = NOW - 5, purpose: m.Purpose = m.Purpose.UNLOCK,
              label: str = "unlock") -> m.Challenge:
    return m.Challenge(nonce=seeded_bytes(f"padlock/nonce/{label}", 16), lock_id=LOCK_ID, counter=counter,
                       lock_time=lock_time, purpose=purpose)


def unlock_request(tok: bytes, chal: m.Challenge, *, holder: Ed25519PrivateKey = WORKER) -> m.UnlockRequest:
    pop = sign_pop(holder, chal.encode(), LOCK_ID, token_hash(tok))
    return m.UnlockRequest(nonce=chal.nonce, token=tok, pop_signature=pop)


def attestation(*, space_id: bytes = SPACE_ID, in_range: bool = True, measured_at: int = NOW - 300,
                valid_for: int = 1800, key: Ed25519PrivateKey = GATEWAY) -> bytes:
    att = GasAttestation(space_id=space_id, all_in_range=in_range, measured_at=measured_at,
                         valid_until=measured_at + valid_for)
    return sign_gas_attestation(att, key)


def revocations(*, version: int = 2, revoked: frozenset[bytes] = frozenset(), space_id: bytes = SPACE_ID,
                lock_ids: tuple[bytes, ...] = (LOCK_ID,), issued_at: int = NOW - 60) -> bytes:
    """A signed list for ``space_id`` addressed to ``lock_ids`` (by default: this lock's space, this lock)."""
    rl = RevocationList(version=version, issued_at=issued_at, min_iat=0, revoked=revoked, space_id=space_id,
                        lock_ids=frozenset(lock_ids))
    return sign_revocation_list(rl, ISSUER, kid=ISSUER_KID)


def key_entry(key: Ed25519PrivateKey) -> dict[str, str]:
    return {"private": hexs(crypto.private_raw(key)), "public": hexs(crypto.public_raw(key)),
            "kid": hexs(crypto.key_id(key))}


def step(name: str, direction: str, data: bytes, *, fragments: bool = False, **extra: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "direction": direction, "hex": hexs(data), **extra}
    if fragments:
        out["fragments_mtu23"] = [hexs(f) for f in fragment(data, 23)]
    return out


def exchange() -> dict[str, Any]:
    tok = token()
    chal = challenge(lock_time=NOW)
    request = unlock_request(tok, chal)
    opened = LockEvent(seq=42, kind=EventKind.OPENED, at=NOW, permit=EventPermit.from_claims(claims()))
    prev_hash = seeded_bytes("padlock/prev-entry-hash", 32)
    entry = sign_entry(opened, lock_id=LOCK_ID, prev_hash=prev_hash, lock_key=LOCK)
    att = attestation()
    return {"now": NOW, "steps": [
        step("advertising", "lock → air", LockAdvert(LOCK_ID, LockState(0), 41, 87).encode()),
        step("scan_response", "lock → air", scan_response()),
        step("gas_attestation_push", "gateway → lock", m.GasAttestationPush(att).encode(), fragments=True,
             signed=hexs(att)),
        step("gas_attestation_result", "lock → gateway", m.Result("ok", m.MessageType.GAS_ATTESTATION_PUSH).encode()),
        step("challenge_request", "phone → lock", m.ChallengeRequest().encode(), fragments=True),
        step("challenge", "lock → phone", chal.encode(), fragments=True),
        step("token", "phone", tok),
        step("token_hash", "phone", token_hash(tok)),
        step("pop_message", "phone", pop_message(chal.encode(), LOCK_ID, token_hash(tok))),
        step("unlock_request", "phone → lock", request.encode(), fragments=True,
             pop_signature=hexs(request.pop_signature)),
        step("result", "lock → phone", m.Result("ok", m.MessageType.UNLOCK_REQUEST).encode(), fragments=True),
        step("opened_event", "lock → phone", m.EventNotice(entry.signed).encode(), fragments=True,
             entry=hexs(entry.signed), prev_hash=hexs(prev_hash)),
        step("advertising_after", "lock → air",
             LockAdvert(LOCK_ID, LockState.OPEN | LockState.SESSION, 42, 87).encode()),
    ]}


def fragmentation() -> list[dict[str, Any]]:
    cases = [("one_fragment", 23, m.InfoRequest().encode()),
             ("three_fragments", 23, bytes(range(40))),
             ("index_wraps_after_127", 23, seeded_bytes("padlock/frag", 32) * 80),
             ("mtu_247", 247, bytes(range(256)) * 2),
             ("largest_message_mtu_247", 247, bytes(i % 251 for i in range(4096)))]
    return [{"name": name, "mtu": mtu, "message": hexs(msg), "fragments": [hexs(f) for f in fragment(msg, mtu)]}
            for name, mtu, msg in cases]


def reassembly_rejections() -> list[dict[str, Any]]:
    frags = fragment(bytes(range(60)), 23)
    cases: list[tuple[str, int, list[bytes], str]] = [
        ("oversize_length", 23, [bytes.fromhex("801001") + bytes(17)], "oversize"),
        ("oversize_fragment", 23, [bytes.fromhex("800030") + bytes(20)], "oversize"),
        ("continuation_first", 23, [frags[1]], "out_of_order"),
        ("skipped_fragment", 23, [frags[0], frags[2]], "out_of_order"),
        ("duplicate_fragment", 23, [frags[0], frags[1], frags[1]], "duplicate"),
        ("duplicate_first", 23, [frags[0], frags[0]], "duplicate"),
        ("truncated", 23, [frags[0], frags[1], *fragment(b"next", 23)], "truncated"),
        ("empty_fragment", 23, [b""], "malformed"),
        ("zero_length", 23, [bytes.fromhex("800000")], "malformed"),
        ("bad_first_header", 23, [bytes.fromhex("81000161")], "malformed"),
        ("data_past_length", 23, [bytes.fromhex("800002616263")], "malformed"),
    ]
    return [{"name": name, "max_message": 4096, "mtu": mtu, "fragments": [hexs(f) for f in fs], "expect": code}
            for name, mtu, fs, code in cases]


def unlock_cases() -> list[dict[str, Any]]:
    fresh = challenge()
    tok = token()

    def case(name: str, expect: str, *, request: m.UnlockRequest | None = None, chal: m.Challenge | None = fresh,
             used: bool = False, att: bytes | None = None, rl: bytes | None = None,
             provisioned: bool = True, no_attestation: bool = False) -> dict[str, Any]:
        held = None if no_attestation else (att or attestation())
        return {"name": name, "now": NOW, "provisioned": provisioned,
                "challenge": hexs(chal.encode()) if chal else None, "challenge_used": used,
                "unlock_request": hexs((request or unlock_request(tok, fresh)).encode()),
                "attestation": hexs(held) if held else None, "revocation_list": hexs(rl) if rl else None,
                "expect": expect}

    def with_token(t: bytes, **kw: Any) -> m.UnlockRequest:
        return unlock_request(t, fresh, **kw)

    garbage = bytes.fromhex("d28443a10126a0f6f6")  # a COSE_Sign1 shape with no payload
    other = challenge(label="other")
    return [
        case("ok", "ok"),
        case("ok_without_gas_test", "ok", request=with_token(token(claims(gas_test_required=False))),
             no_attestation=True),
        case("malformed_token", "malformed", request=with_token(garbage)),
        case("bad_signature", "bad_signature", request=with_token(token(key=ROGUE))),
        case("unknown_kid", "unknown_kid", request=with_token(token(key=ROGUE, kid=crypto.key_id(ROGUE)))),
        case("expired", "expired", request=with_token(token(claims(
            iat=NOW - 9000, nbf=NOW - 8000, window_start=NOW - 8000, exp=NOW - 1000, window_end=NOW - 1000)))),
        case("not_yet_valid", "not_yet_valid", request=with_token(token(claims(nbf=NOW + 1000)))),
        case("wrong_lock", "wrong_lock", request=with_token(token(claims(lock_ids=(OTHER_LOCK_ID,))))),
        case("bad_pop", "bad_pop", request=with_token(tok, holder=ROGUE)),
        case("revoked", "revoked", rl=revocations(revoked=frozenset({claims().cti}))),
        case("not_revoked_by_list", "ok", rl=revocations(revoked=frozenset({seeded_bytes("padlock/cti-x", 16)}))),
        case("revoked_by_list_of_other_space", "revoked",
             rl=revocations(revoked=frozenset({claims().cti}), space_id=OTHER_SPACE_ID)),
        case("gas_test_required_none", "gas_test_required", no_attestation=True),
        case("gas_test_required_other_space", "gas_test_required", att=attestation(space_id=OTHER_SPACE_ID)),
        case("gas_test_required_forged", "gas_test_required", att=attestation(key=ROGUE)),
        case("attestation_stale_old", "attestation_stale", att=attestation(measured_at=NOW - 1900)),
        case("attestation_stale_past_valid_until", "attestation_stale",
             att=attestation(measured_at=NOW - 700, valid_for=600)),
        case("gas_out_of_range", "gas_out_of_range", att=attestation(in_range=False)),
        case("challenge_used", "challenge_unknown_or_used", used=True),
        case("challenge_none", "challenge_unknown_or_used", chal=None),
        case("challenge_other_nonce", "challenge_unknown_or_used", chal=other),
        case("challenge_for_time_set", "challenge_unknown_or_used",
             chal=challenge(purpose=m.Purpose.TIME_SET)),
        case("challenge_expired", "challenge_expired", chal=challenge(lock_time=NOW - 31),
             request=unlock_request(tok, challenge(lock_time=NOW - 31))),
        case("not_provisioned", "not_provisioned", provisioned=False),
    ]


def push_cases() -> list[dict[str, Any]]:
    def trust_list(version: int = 1, lock_ids: tuple[bytes, ...] = (LOCK_ID,), key: Ed25519PrivateKey = ISSUER,
                   ) -> bytes:
        new_issuer = seeded_key("padlock/issuer-2")
        tl = TrustList(version=version, issued_at=NOW - 60, lock_ids=lock_ids,
                       issuer_keys={ISSUER_KID: crypto.public_raw(ISSUER),
                                    crypto.key_id(new_issuer): crypto.public_raw(new_issuer)},
                       gateway_key=crypto.public_raw(GATEWAY))
        return sign_trust_list(tl, key, kid=crypto.key_id(key))

    time_chal = challenge(purpose=m.Purpose.TIME_SET, label="time", lock_time=NOW - 2)

    def time_set(lock_id: bytes = LOCK_ID, key: Ed25519PrivateKey = GATEWAY) -> bytes:
        return sign_time_set(TimeSet(lock_id=lock_id, nonce=time_chal.nonce, time=NOW + 7), key)

    def case(name: str, push: m.Message, expect: str, **state: Any) -> dict[str, Any]:
        full = {"trust_version": 0, "revocation_list": None, "held_attestation": None,
                "challenge": hexs(time_chal.encode()), "challenge_used": False}
        full.update({k: hexs(v) if isinstance(v, bytes) else v for k, v in state.items()})
        return {"name": name, "kind": type(push).__name__, "now": NOW, "state": full, "message": hexs(push.encode()),
                "expect": expect}

    return [
        case("trust_list_ok", m.TrustListPush(trust_list()), "ok"),
        case("trust_list_stale", m.TrustListPush(trust_list(version=3)), "stale", trust_version=3),
        case("trust_list_wrong_lock", m.TrustListPush(trust_list(lock_ids=(OTHER_LOCK_ID,))), "wrong_lock"),
        case("trust_list_unknown_signer", m.TrustListPush(trust_list(key=ROGUE)), "unknown_kid"),
        case("time_set_ok", m.TimeSetPush(time_set()), "ok"),
        case("time_set_replayed", m.TimeSetPush(time_set()), "challenge_unknown_or_used", challenge_used=True),
        case("time_set_unlock_challenge", m.TimeSetPush(time_set()), "challenge_unknown_or_used",
             challenge=challenge(label="time", lock_time=NOW - 2).encode()),
        case("time_set_expired_challenge", m.TimeSetPush(time_set()), "challenge_expired",
             challenge=dataclasses.replace(time_chal, lock_time=NOW - 60).encode()),
        case("time_set_other_lock", m.TimeSetPush(time_set(lock_id=OTHER_LOCK_ID)), "wrong_lock"),
        case("time_set_not_gateway", m.TimeSetPush(time_set(key=ISSUER)), "unknown_kid"),
        case("gas_attestation_ok", m.GasAttestationPush(attestation()), "ok"),
        case("gas_attestation_older_than_held", m.GasAttestationPush(attestation(measured_at=NOW - 900)), "stale",
             held_attestation=attestation(in_range=False, measured_at=NOW - 600)),
        case("gas_attestation_forged", m.GasAttestationPush(attestation(key=ROGUE)), "unknown_kid"),
        case("revocation_list_ok", m.RevocationPush(revocations(version=2)), "ok",
             revocation_list=revocations(version=1)),
        case("revocation_list_stale", m.RevocationPush(revocations(version=1)), "stale",
             revocation_list=revocations(version=2)),
        case("revocation_list_same_version_stale", m.RevocationPush(revocations(version=2)), "stale",
             revocation_list=revocations(version=2)),
        case("revocation_list_first", m.RevocationPush(revocations(version=1)), "ok"),
        case("revocation_list_several_locks",
             m.RevocationPush(revocations(version=3, lock_ids=(OTHER_LOCK_ID, LOCK_ID))), "ok",
             revocation_list=revocations(version=2)),
        # Versions count per space: another space's higher version addressed to other locks never replaces ours.
        case("revocation_list_other_space_other_lock", m.RevocationPush(
            revocations(version=9, space_id=OTHER_SPACE_ID, lock_ids=(OTHER_LOCK_ID,))), "wrong_lock",
             revocation_list=revocations(version=2)),
        case("revocation_list_this_space_other_lock", m.RevocationPush(
            revocations(version=9, lock_ids=(OTHER_LOCK_ID,))), "wrong_lock", revocation_list=revocations(version=2)),
        # A lock moved to another space adopts that space's list, whatever its version, when issued later...
        case("revocation_list_lock_moved_to_other_space", m.RevocationPush(
            revocations(version=1, space_id=OTHER_SPACE_ID, issued_at=NOW - 30)), "ok",
             revocation_list=revocations(version=5)),
        # ... but never a list of another space issued before the one it holds (a replay from before a move).
        case("revocation_list_other_space_issued_earlier", m.RevocationPush(
            revocations(version=9, space_id=OTHER_SPACE_ID, issued_at=NOW - 120)), "stale",
             revocation_list=revocations(version=2)),
        case("push_not_signed", m.TrustListPush(b"\xa0"), "bad_request"),
    ]


def audit() -> dict[str, Any]:
    permit = EventPermit.from_claims(claims())
    events = [LockEvent(seq=1, kind=EventKind.PROVISIONED, at=NOW - 86_400),
              LockEvent(seq=2, kind=EventKind.OPENED, at=NOW, permit=permit),
              LockEvent(seq=3, kind=EventKind.CLOSED, at=NOW + 1800, permit=permit),
              LockEvent(seq=4, kind=EventKind.LOW_BATTERY, at=NOW + 1900, value=18)]
    prev, entries = GENESIS_HASH, []
    for event in events:
        entry = sign_entry(event, lock_id=LOCK_ID, prev_hash=prev, lock_key=LOCK)
        entries.append(hexs(entry.signed))
        prev = entry.hash
    return {"lock_public": hexs(crypto.public_raw(LOCK)), "prev_hash": hexs(GENESIS_HASH), "entries": entries}


def build() -> dict[str, Any]:
    return {
        "description": "SafeGrid padlock GATT protocol vectors (protocols/padlock.md §10). Test keys only.",
        "protocol_version": PROTOCOL_VERSION,
        "keys": {"issuer": key_entry(ISSUER), "worker": key_entry(WORKER), "gateway": key_entry(GATEWAY),
                 "lock": key_entry(LOCK), "rogue": key_entry(ROGUE)},
        "trust": {"lock_id": hexs(LOCK_ID), "issuer_keys": {hexs(ISSUER_KID): hexs(crypto.public_raw(ISSUER))},
                  "gateway_key": hexs(crypto.public_raw(GATEWAY)), "skew_s": DEFAULT_SKEW_S},
        "exchange": exchange(),
        "fragmentation": fragmentation(),
        "reassembly_rejections": reassembly_rejections(),
        "unlock_cases": unlock_cases(),
        "push_cases": push_cases(),
        "audit": audit(),
    }
