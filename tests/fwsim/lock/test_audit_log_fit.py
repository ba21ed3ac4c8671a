"""An audit fetch answers with as many entries as fit one GATT message, and says more follow."""

from __future__ import annotations

from fwsim.lock.audit_log import AuditLog
from protocols import crypto
from protocols.padlock import messages as m
from protocols.padlock.audit import verify_chain
from protocols.padlock.events import EventKind, EventPermit
from protocols.padlock.gatt import MAX_MESSAGE_BYTES


def test_a_large_fetch_is_trimmed_to_one_message_and_the_rest_follows() -> None:
    key = crypto.generate_private_key()
    permit = EventPermit(token_id=bytes(16), permit_id=bytes(16), space_id=bytes(16), worker_id=bytes(16),
                         exp=2_000_000_000, max_duration_s=7200, entrant_limit=3, drill=False)
    log = AuditLog()
    for i in range(64):  # opened events carry the permit: 32 of them do not fit one 4 KiB message
        log.append(EventKind.OPENED, 1_767_225_600 + i, lock_id=bytes(8), lock_key=key, permit=permit)
    fetched: list[bytes] = []
    since, rounds = 0, 0
    while True:
        batch, more, through = log.fetch(since, 32)
        assert batch
        assert len(m.AuditEntries(entries=tuple(batch), more=more).encode()) <= MAX_MESSAGE_BYTES
        fetched += batch
        since, rounds = through, rounds + 1
        if not more:
            break
    assert rounds > 2  # trimmed below the asked-for 32 per answer
    entries = verify_chain(fetched, key.public_key())
    assert [e.seq for e in entries] == list(range(1, 65))
