"""Revocation lists on a lock are bound to their space and locks, versioned per space (issue 9, item 1).

A gateway serves two spaces; the cloud revokes a permit in each. A lock must keep the list of its own
space: a list for another space (or another lock) is refused, so space A's revocation never rolls back.
"""

from __future__ import annotations

import json

from fwsim.lock import PadlockCore
from protocols.padlock import messages as m
from protocols.revocation import RevocationList, sign_revocation_list
from protocols.token import decode_token
from tests.fwsim.lock.test_core import attempt, push
from tests.fwsim.lock.world import NOW, HostClock, provisioned_core, token, v

SPACE_B = bytes.fromhex("b0" * 16)
LOCK_B = bytes.fromhex("b1" * 8)


def signed_list(version: int, revoked: set[bytes], *, space_id: bytes, lock_ids: tuple[bytes, ...],
                issued_at: int = NOW - 60) -> bytes:
    rl = RevocationList(version=version, issued_at=issued_at, min_iat=0, revoked=frozenset(revoked),
                        space_id=space_id, lock_ids=frozenset(lock_ids))
    return sign_revocation_list(rl, v.ISSUER, kid=v.ISSUER_KID)


def test_a_list_for_another_space_never_rolls_back_this_space_s_revocation() -> None:
    # The issue's repro: revoke in space A (v1 = {A's token}), then in space B (v2 = {B's token}); the old code
    # adopted v2 as newer and opened again for A's revoked token.
    clock = HostClock()
    core: PadlockCore = provisioned_core(clock)
    tok_a = token()  # space A (v.SPACE_ID), this lock
    list_a = signed_list(1, {decode_token(tok_a).cti}, space_id=v.SPACE_ID, lock_ids=(v.LOCK_ID,))
    list_b = signed_list(2, {bytes(16)}, space_id=SPACE_B, lock_ids=(LOCK_B,))
    assert push(core, m.RevocationPush(list_a), clock()).ok
    assert attempt(core, clock(), tok_a).code == "revoked"
    assert push(core, m.RevocationPush(list_b), clock()).code == "wrong_lock"
    assert attempt(core, clock(), tok_a).code == "revoked"
    assert core.revocations is not None and core.revocations.space_id == v.SPACE_ID
    assert core.info(clock()).revocation_version == 1


def test_versions_count_per_space_and_a_moved_lock_takes_its_new_space_s_list() -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    tok_a = token()
    revoked_a = {decode_token(tok_a).cti}
    assert push(core, m.RevocationPush(signed_list(5, revoked_a, space_id=v.SPACE_ID, lock_ids=(v.LOCK_ID,))),
                clock()).ok
    replay = signed_list(4, set(), space_id=v.SPACE_ID, lock_ids=(v.LOCK_ID,))
    assert push(core, m.RevocationPush(replay), clock()).code == "stale"
    # The lock is moved to space B, whose counter is lower: B's list, issued later, is adopted...
    moved = signed_list(1, set(), space_id=SPACE_B, lock_ids=(v.LOCK_ID, LOCK_B), issued_at=NOW)
    assert push(core, m.RevocationPush(moved), clock()).ok
    # ... and space A's old list, issued before, cannot come back.
    old_a = signed_list(6, set(), space_id=v.SPACE_ID, lock_ids=(v.LOCK_ID,), issued_at=NOW - 30)
    assert push(core, m.RevocationPush(old_a), clock()).code == "stale"


def test_the_held_list_s_scope_survives_a_power_cycle() -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    assert push(core, m.RevocationPush(signed_list(3, set(), space_id=v.SPACE_ID, lock_ids=(v.LOCK_ID, LOCK_B))),
                clock()).ok
    restored = PadlockCore.from_record(json.loads(json.dumps(core.to_record())))
    assert restored.revocations == core.revocations
    other = signed_list(9, set(), space_id=SPACE_B, lock_ids=(LOCK_B,))
    assert push(restored, m.RevocationPush(other), clock()).code == "wrong_lock"
