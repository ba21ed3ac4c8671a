"""Protocol benchmark: token and unlock verification rates beside raw Ed25519 verification in the same run.

Run with ``scripts/bench protocols [--seconds S]``. Prints figures; asserts nothing (goals are printed beside
them: token verifications >= 50 % of the raw rate; unlock checks, two signatures each, >= 40 % of half of it).
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Callable

from protocols import crypto
from protocols.padlock import fragment
from protocols.token import PermitClaims, check_unlock, issue_token, sign_pop, token_hash, verify_token


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (after a short warm-up)."""
    for _ in range(50):
        fn()
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            fn()
        n += 100
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=2.0, help="measuring time per figure (default 2)")
    args = ap.parse_args()

    issuer = crypto.generate_private_key()
    kid = crypto.key_id(issuer)
    holder = crypto.generate_private_key()
    lock_id = os.urandom(8)
    now = int(time.time())
    claims = PermitClaims(
        iss="safegrid-cloud", sub="worker", iat=now, nbf=now, exp=now + 4 * 3600, cti=os.urandom(16),
        holder_key=crypto.public_raw(holder), permit_id=uuid.uuid4().bytes, enterprise_id=uuid.uuid4().bytes,
        space_id=uuid.uuid4().bytes, worker_id=uuid.uuid4().bytes, lock_ids=(lock_id,),
        window_start=now, window_end=now + 4 * 3600, max_duration_s=2 * 3600, entrant_limit=3,
        gas_test_required=True, drill=False,
    )
    token = issue_token(claims, issuer, kid=kid)
    keys = {kid: issuer.public_key()}
    challenge = os.urandom(48)
    pop = sign_pop(holder, challenge, lock_id, token_hash(token))

    message = issuer.sign(b"x" * 200)
    pub = issuer.public_key()
    raw = rate(lambda: pub.verify(message, b"x" * 200), args.seconds)
    tok = rate(lambda: verify_token(token, issuer_keys=keys, now=now, lock_id=lock_id), args.seconds)
    unl = rate(lambda: check_unlock(token, pop, challenge, issuer_keys=keys, now=now, lock_id=lock_id), args.seconds)

    frags = fragment.fragment(token, mtu=23)
    print("protocols benchmark (one core, this machine)")
    print(f"  permit token, one lock:        {len(token)} bytes of CBOR (goal <= 300)")
    print(f"  fragments at ATT MTU 23:       {len(frags)} writes of <= 20 bytes")
    print(f"  raw Ed25519 verifications/s:   {raw:,.0f}   (cryptography, same run)")
    print(f"  token verifications/s:         {tok:,.0f}   = {tok / raw:.0%} of raw (goal >= 50 %)")
    print(f"  unlock checks/s (token + PoP): {unl:,.0f}   = {unl / (raw / 2):.0%} of raw/2 (goal >= 40 %)")


if __name__ == "__main__":
    main()
