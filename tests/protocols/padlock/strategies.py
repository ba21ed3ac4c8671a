"""Hypothesis strategies for every padlock message and lock event."""

from __future__ import annotations

from hypothesis import strategies as st

from protocols.padlock import messages as m
from protocols.padlock.advertising import KNOWN_STATE, LockState
from protocols.padlock.events import EventKind, EventPermit, LockEvent
from protocols.padlock.results import RESULT_CODES

uint64 = st.integers(0, 2**64 - 1)
uint32 = st.integers(0, 2**32 - 1)
lock_ids = st.binary(min_size=8, max_size=8)
ids = st.binary(min_size=16, max_size=16)
nonces = st.binary(min_size=16, max_size=16)
raw_keys = st.binary(min_size=32, max_size=32)
key_maps = st.dictionaries(st.binary(min_size=1, max_size=16), raw_keys, min_size=1, max_size=4)
states = st.integers(0, int(KNOWN_STATE)).map(lambda v: LockState(v) & KNOWN_STATE)
results = st.sampled_from(sorted(RESULT_CODES))

event_permits = st.builds(EventPermit, token_id=st.binary(min_size=1, max_size=32), permit_id=ids, space_id=ids,
                          worker_id=ids, exp=uint64, max_duration_s=uint32, entrant_limit=st.integers(0, 50),
                          drill=st.booleans())


@st.composite
def lock_events(draw: st.DrawFn) -> LockEvent:
    kind = draw(st.sampled_from(EventKind))
    if kind is EventKind.OPENED:
        permit = draw(event_permits)
    elif kind is EventKind.CLOSED:
        permit = draw(st.none() | event_permits)
    else:
        permit = None
    needs_value = kind in (EventKind.LOW_BATTERY, EventKind.UNLOCK_REFUSED, EventKind.TIME_SET,
                           EventKind.TRUST_UPDATED, EventKind.REVOCATIONS_UPDATED, EventKind.ABUSE)
    value = draw(uint32) if needs_value else None
    return LockEvent(seq=draw(st.integers(1, 2**32 - 1)), kind=kind, at=draw(uint64), permit=permit, value=value)


signed = st.binary(min_size=1, max_size=600)

by_class: dict[type[m.Message], st.SearchStrategy[m.Message]] = {
    m.InfoRequest: st.just(m.InfoRequest()),
    m.InfoResponse: st.builds(
        m.InfoResponse, lock_id=lock_ids, state=states, event_seq=uint32, battery=st.none() | st.integers(0, 100),
        lock_time=uint64, trust_version=uint64, revocation_version=uint64, lock_key=raw_keys,
        firmware=st.text(max_size=10)),
    m.ChallengeRequest: st.builds(m.ChallengeRequest, purpose=st.sampled_from(m.Purpose)),
    m.Challenge: st.builds(m.Challenge, nonce=nonces, lock_id=lock_ids, counter=uint64, lock_time=uint64,
                           purpose=st.sampled_from(m.Purpose)),
    m.UnlockRequest: st.builds(m.UnlockRequest, nonce=nonces, token=st.binary(min_size=1, max_size=400),
                               pop_signature=st.binary(min_size=64, max_size=64)),
    m.Result: st.builds(m.Result, code=results, request=st.integers(0, 255), retry_after=st.none() | uint32),
    m.EventNotice: st.builds(m.EventNotice, entry=st.binary(min_size=1, max_size=512)),
    m.AuditFetch: st.builds(m.AuditFetch, since_seq=uint32, limit=st.integers(1, 32)),
    m.AuditEntries: st.builds(m.AuditEntries, more=st.booleans(),
                              entries=st.lists(st.binary(min_size=1, max_size=100), max_size=8).map(tuple)),
    m.TrustListPush: st.builds(m.TrustListPush, signed=signed),
    m.TimeSetPush: st.builds(m.TimeSetPush, signed=signed),
    m.RevocationPush: st.builds(m.RevocationPush, signed=signed),
    m.GasAttestationPush: st.builds(m.GasAttestationPush, signed=signed),
    m.Provision: st.builds(m.Provision, lock_id=lock_ids, issuer_keys=key_maps, gateway_key=raw_keys,
                           time=st.none() | uint64),
}
messages = st.one_of(*by_class.values())
