"""The pure padlock core and its clock: time floor, junk and abuse, audit log, pushes, persistence (no radio)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from fwsim.lock import AuditLog, LockClock, PadlockCore
from fwsim.lock.audit_log import KEEP_FETCHED
from fwsim.lock.core import LOW_BATTERY_PCT
from protocols import crypto
from protocols.padlock import messages as m
from protocols.padlock.audit import GENESIS_HASH, verify_chain
from protocols.padlock.events import EventKind
from protocols.padlock.gatt import ABUSE_THRESHOLD, ABUSE_WINDOW_S, JUNK_PER_LINK
from protocols.padlock.pushes import TimeSet, TrustList, sign_time_set, sign_trust_list
from protocols.token import sign_pop, token_hash
from tests.fwsim.lock.world import NOW, HostClock, provision_message, provisioned_core, token, v, verify_log

TOKEN = token()


def attempt(core: PadlockCore, host: float, tok: bytes = TOKEN, *, holder: object = v.WORKER,
            link: int = 0) -> m.Result:
    challenge = core.handle(m.ChallengeRequest().encode(), host, link).response
    assert isinstance(challenge, m.Challenge)
    pop = sign_pop(holder, challenge.encode(), challenge.lock_id, token_hash(tok))  # type: ignore[arg-type]
    result = core.handle(m.UnlockRequest(challenge.nonce, tok, pop).encode(), host, link).response
    assert isinstance(result, m.Result)
    return result


def push(core: PadlockCore, message: m.Message, host: float) -> m.Result:
    result = core.handle(message.encode(), host).response
    assert isinstance(result, m.Result)
    return result


def time_set(core: PadlockCore, time: int, host: float) -> tuple[m.Result, bytes]:
    challenge = core.handle(m.ChallengeRequest(m.Purpose.TIME_SET).encode(), host).response
    assert isinstance(challenge, m.Challenge)
    signed = sign_time_set(TimeSet(lock_id=core.lock_id, nonce=challenge.nonce, time=time), v.GATEWAY)
    return push(core, m.TimeSetPush(signed), host), signed


# -- the clock ---------------------------------------------------------------------------------------
clock_ops = st.lists(st.one_of(
    st.tuples(st.just("advance"), st.floats(-1e6, 1e6)),
    st.tuples(st.just("set"), st.integers(0, 2**34)),
    st.tuples(st.just("drift"), st.floats(-1e4, 1e4)),
    st.tuples(st.just("reset"), st.just(0)),
), max_size=40)


@given(clock_ops)
def test_trusted_time_never_moves_backwards(ops: list[tuple[str, float]]) -> None:
    host, clock = float(NOW), LockClock(set_at_host=NOW, set_to=NOW)
    seen = clock.now(host)
    for op, arg in ops:
        if op == "advance":
            host += arg  # the host clock may jump either way too
        elif op == "set":
            clock.set(int(arg), host)
        elif op == "drift":
            clock.set_drift(arg, host)
        else:
            clock.reset_rtc(host)
        now = clock.now(host)
        assert now >= seen
        assert now == max(seen, int(clock.rtc(host) // 1))
        seen = now


def test_drift_makes_the_rtc_run_fast_and_a_set_back_clock_waits_at_the_floor() -> None:
    clock = LockClock(set_at_host=0, set_to=NOW)
    clock.set_drift(100.0, 0)  # 100 ppm fast: 8.64 s a day
    assert clock.now(86_400) == NOW + 86_408
    clock.set(NOW, 86_400)  # set back a day: the floor holds until the clock passes it
    assert clock.now(86_400 + 3600) == NOW + 86_408
    assert clock.now(2 * 86_400 + 60) == NOW + 86_400 + 60 + 8


def test_a_clock_set_back_cannot_revive_an_expired_permit_or_challenge() -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    clock.advance(5 * 3600)
    assert attempt(core, clock()).code == "expired"
    result, captured = time_set(core, NOW, clock())  # the gateway (or someone with its key) sets time back
    assert result.ok and core.clock.rtc(clock()) == NOW
    assert attempt(core, clock()).code == "expired"
    assert push(core, m.TimeSetPush(captured), clock()).code == "challenge_unknown_or_used"  # no replay
    entry = verify_log(core)[-2]  # time_set, then unlock_refused (a refused push is not logged)
    assert entry.event.kind is EventKind.TIME_SET and entry.event.value == NOW + 5 * 3600


def test_a_time_set_forward_moves_the_lock_time() -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    assert time_set(core, NOW + 7200, clock())[0].ok
    assert core.info(clock()).lock_time == NOW + 7200
    assert attempt(core, clock()).ok
    rogue = sign_time_set(TimeSet(lock_id=core.lock_id, nonce=bytes(16), time=NOW), v.ROGUE)
    assert push(core, m.TimeSetPush(rogue), clock()).code == "unknown_kid"


# -- junk costs its link, never the holder (issue 9, item 3) -------------------------------------------
JUNK = m.UnlockRequest(bytes(16), TOKEN, bytes(64)).encode()  # answers no challenge: proves nothing


def test_a_thousand_junk_requests_never_delay_a_valid_unlock_and_are_reported_as_abuse() -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    before = core.log.last_seq
    drops = 0
    for i in range(1000):
        reply = core.handle(JUNK, clock(), link=1 + i // JUNK_PER_LINK)  # the attacker reconnects when dropped
        assert reply.response == m.Result("challenge_unknown_or_used", int(m.MessageType.UNLOCK_REQUEST))
        drops += reply.drop_link
    assert drops == 1000 // JUNK_PER_LINK  # every third request on a link ends it
    assert attempt(core, clock(), link=999).ok  # at once: no backoff, no waiting
    entries = verify_log(core)
    kinds = [e.event.kind for e in entries if e.seq > before]
    abuse = [e.event.value for e in entries if e.event.kind is EventKind.ABUSE]
    assert abuse == [ABUSE_THRESHOLD, 100, 1000]  # a few entries for a thousand requests
    assert kinds.count(EventKind.UNLOCK_REFUSED) == ABUSE_THRESHOLD  # then only the abuse summary
    assert EventKind.TAMPER not in kinds and kinds[-1] is EventKind.OPENED
    assert core.state_flags() & core.state_flags().TAMPER == 0


def test_undecodable_requests_and_bad_signatures_are_junk_gas_refusals_are_not() -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    assert core.handle(b"\xff", clock(), link=1).drop_link is False
    assert core.handle(b"", clock(), link=1).drop_link is False
    third = core.handle(b"\xa1\x00\x18\x99", clock(), link=1)  # unsupported: junk as well
    assert third.response == m.Result("unsupported", 0x99) and third.drop_link
    no_gas_test = token(gas_test_required=False)
    rogue = v.token(v.claims(gas_test_required=False), key=v.ROGUE)  # a token the issuer never signed
    for _ in range(JUNK_PER_LINK):
        assert attempt(core, clock(), rogue, link=2).code == "bad_signature"
    assert core.junk_on_link == JUNK_PER_LINK
    gas = token(gas_test_required=True)  # no attestation held: the holder is told, the link stays
    for _ in range(JUNK_PER_LINK + 2):
        challenge = core.handle(m.ChallengeRequest().encode(), clock(), 3).response
        assert isinstance(challenge, m.Challenge)
        pop = sign_pop(v.WORKER, challenge.encode(), challenge.lock_id, token_hash(gas))
        reply = core.handle(m.UnlockRequest(challenge.nonce, gas, pop).encode(), clock(), 3)
        assert reply.response == m.Result("gas_test_required", int(m.MessageType.UNLOCK_REQUEST))
        assert not reply.drop_link
    assert attempt(core, clock(), no_gas_test, link=3).ok


def test_junk_on_a_link_drops_it_at_the_limit_and_a_success_clears_the_count() -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    drops = [core.handle(JUNK, clock(), link=7).drop_link for _ in range(JUNK_PER_LINK - 1)]
    assert attempt(core, clock(), link=7).ok
    core.close(clock())
    drops += [core.handle(JUNK, clock(), link=7).drop_link for _ in range(JUNK_PER_LINK)]
    # The success reset the link's count: only the third junk request after it ends the link.
    assert drops == [False] * (2 * JUNK_PER_LINK - 2) + [True]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, ABUSE_WINDOW_S // 2), min_size=1, max_size=60))
def test_abuse_is_logged_at_the_threshold_of_each_window(gaps: list[int]) -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    window_start, count, expected = None, 0, 0
    for gap in gaps:
        clock.advance(gap)
        now = int(clock())
        if window_start is None or now >= window_start + ABUSE_WINDOW_S:
            window_start, count = now, 0
        count += 1
        expected += count == ABUSE_THRESHOLD
        core.handle(JUNK, clock(), link=now)
    assert [e.event.kind for e in verify_log(core)].count(EventKind.ABUSE) == expected


# -- events and the audit log -------------------------------------------------------------------------
def test_the_log_pages_prunes_only_fetched_entries_and_stays_verifiable() -> None:
    key = crypto.generate_private_key()
    log = AuditLog(max_kept=200)
    for i in range(150):
        log.append(EventKind.POWER_ON, NOW + i, lock_id=v.LOCK_ID, lock_key=key)
    batch, more, through = log.fetch(0, 16)  # 16 small entries fit one message; 32 would not
    assert len(batch) == 16 and more and through == 16
    verify_chain(batch, key.public_key(), GENESIS_HASH)
    batch, more, through = log.fetch(140, 32)
    assert len(batch) == 10 and not more and through == 150
    assert log.first_seq() == 140 - KEEP_FETCHED + 1  # fetched ones pruned, a margin kept
    for i in range(300):
        log.append(EventKind.POWER_ON, NOW + i, lock_id=v.LOCK_ID, lock_key=key)
    assert len(log.entries) == 200 and log.last_seq == 450  # flash is finite: the oldest go
    batch, _, _ = log.fetch(0, 16)  # a gateway that fell behind sees the gap as a seq jump
    assert [e.seq for e in log.decoded()[:2]] == [251, 252] and len(batch) == 16


def test_low_battery_is_logged_once_until_a_fresh_battery() -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    assert core.set_battery(LOW_BATTERY_PCT, clock()) == ()
    (low,) = core.set_battery(LOW_BATTERY_PCT - 1, clock())
    assert low.event.kind is EventKind.LOW_BATTERY and low.event.value == LOW_BATTERY_PCT - 1
    assert core.set_battery(5, clock()) == () and core.advert().battery == 5
    assert core.set_battery(22, clock()) == () and core.low_battery  # hysteresis
    assert core.set_battery(100, clock()) == () and not core.low_battery
    assert len(core.set_battery(3, clock())) == 1


def test_physical_events_and_the_session() -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    assert core.close(clock()) == ()  # already locked: nothing happens
    assert attempt(core, clock()).ok
    (closed,) = core.close(clock())
    assert closed.event.kind is EventKind.CLOSED and closed.event.permit is not None
    assert closed.event.permit.token_id == v.claims().cti and core.session is None and not core.open
    (forced,) = core.force_open(clock())
    assert forced.event.kind is EventKind.FORCED_OPEN and core.open and core.tamper_seq == forced.seq
    (closed,) = core.close(clock())
    assert closed.event.permit is None
    assert core.mechanical_key_open(clock())[0].event.kind is EventKind.MECHANICAL_KEY
    assert len(verify_log(core)) == 6


def test_provisioning_a_new_lock_id_restarts_the_chain_but_never_reuses_a_seq() -> None:
    clock = HostClock()
    core = PadlockCore.factory_new(clock())
    other = PadlockCore.factory_new(clock())
    assert core.lock_id != other.lock_id and core.lock_public_key != other.lock_public_key  # random per lock
    core.power_on(clock())
    core.force_open(clock())
    assert push(core, provision_message(time=NOW + 10), clock()).ok
    (entry,) = verify_log(core)
    assert entry.event.kind is EventKind.PROVISIONED and entry.seq == 3 and entry.prev_hash == GENESIS_HASH
    assert entry.event.at == NOW + 10 and core.lock_id == v.LOCK_ID
    core.enter_provisioning_mode()
    assert push(core, provision_message(), clock()).ok  # the same id: the chain goes on
    assert [e.seq for e in verify_log(core)] == [3, 4]


def test_deferred_pushes_apply_when_the_session_closes_revocations_first() -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    new_issuer = crypto.generate_private_key()
    kid = crypto.key_id(new_issuer)
    rotate = TrustList(version=1, issued_at=NOW, lock_ids=(v.LOCK_ID,),
                       issuer_keys={kid: crypto.public_raw(new_issuer)}, gateway_key=crypto.public_raw(v.GATEWAY))
    assert attempt(core, clock()).ok
    assert push(core, m.TrustListPush(sign_trust_list(rotate, v.ISSUER, kid=v.ISSUER_KID)), clock()).code == "deferred"
    assert push(core, m.RevocationPush(v.revocations(version=3)), clock()).code == "deferred"
    assert core.trust_version == 0 and core.revocations is None
    restored = PadlockCore.from_record(json.loads(json.dumps(core.to_record())))  # deferred survives power loss
    kinds = [e.event.kind for e in restored.close(clock())]
    assert kinds == [EventKind.CLOSED, EventKind.REVOCATIONS_UPDATED, EventKind.TRUST_UPDATED]
    assert restored.trust_version == 1 and restored.revocations is not None and restored.revocations.version == 3
    assert restored.deferred_trust_list is None and restored.deferred_revocations is None


def test_the_record_round_trips_every_field() -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    push(core, m.GasAttestationPush(v.attestation()), clock())
    push(core, m.RevocationPush(v.revocations()), clock())
    attempt(core, clock(), holder=v.ROGUE)
    attempt(core, clock())
    core.close(clock())
    core.set_battery(12, clock())
    core.clock.set_drift(35.0, clock())
    push(core, m.TrustListPush(b"\x01"), clock())
    record = core.to_record()
    restored = PadlockCore.from_record(json.loads(json.dumps(record)))
    assert restored.to_record() == record
    assert restored.held_attestation() == core.held_attestation() is not None
    assert restored.info(clock()) == core.info(clock())
    assert attempt(restored, clock()).ok


def test_requests_that_do_not_decode_get_bad_request_or_unsupported() -> None:
    clock = HostClock()
    core = provisioned_core(clock)
    assert core.handle(b"\xff\x00", clock()).response == m.Result("bad_request", 0)
    assert core.handle(b"\xa1\x00\x18\x99", clock()).response == m.Result("unsupported", 0x99)
    assert core.handle(m.InfoResponse(
        lock_id=v.LOCK_ID, state=core.state_flags(), event_seq=0, battery=None, lock_time=0, trust_version=0,
        revocation_version=0, lock_key=bytes(32), firmware="x").encode(), clock()).response == m.Result(
        "unsupported", int(m.MessageType.INFO))
    assert core.handle(m.AuditFetch(0, 1).encode(), clock()).response == m.AuditEntries(
        entries=(core.log.entries[0],), more=False)
