"""Every result code the padlock can answer, provoked by a scripted phone client over the virtual radio."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from fwsim.phone.errors import LinkLost
from fwsim.phone.session import PadlockSession
from protocols import cbor, crypto
from protocols.padlock import messages as m
from protocols.padlock.events import EventKind
from protocols.padlock.fragment import fragment
from protocols.padlock.gatt import ABUSE_THRESHOLD, JUNK_PER_LINK
from protocols.padlock.pushes import TrustList, sign_trust_list
from protocols.padlock.results import RESULT_CODES
from protocols.token import sign_pop, token_hash
from tests.fwsim.lock.world import NOW, STEP_TIMEOUT_S, PadlockRig, padlock_rig, provision_message, token, v

Scenario = Callable[[PadlockRig, PadlockSession], Awaitable[m.Result]]
UNLOCK = int(m.MessageType.UNLOCK_REQUEST)


async def unlock_with(session: PadlockSession, tok: bytes, *, holder: object = v.WORKER) -> m.Result:
    outcome = await session.unlock(tok, holder)  # type: ignore[arg-type]
    return outcome.result


async def ok(rig: PadlockRig, session: PadlockSession) -> m.Result:
    return await unlock_with(session, token())


async def malformed(rig: PadlockRig, session: PadlockSession) -> m.Result:
    return await unlock_with(session, bytes.fromhex("d28443a10126a0f6f6"))


async def bad_signature(rig: PadlockRig, session: PadlockSession) -> m.Result:
    return await unlock_with(session, v.token(v.claims(gas_test_required=False), key=v.ROGUE))


async def unknown_kid(rig: PadlockRig, session: PadlockSession) -> m.Result:
    rogue = v.token(v.claims(gas_test_required=False), key=v.ROGUE, kid=crypto.key_id(v.ROGUE))
    return await unlock_with(session, rogue)


async def expired(rig: PadlockRig, session: PadlockSession) -> m.Result:
    rig.clock.advance(5 * 3600)  # the permit ends 4 h after NOW
    return await unlock_with(session, token())


async def not_yet_valid(rig: PadlockRig, session: PadlockSession) -> m.Result:
    return await unlock_with(session, token(nbf=NOW + 3600, window_start=NOW + 3600))


async def wrong_lock(rig: PadlockRig, session: PadlockSession) -> m.Result:
    return await unlock_with(session, token(lock_ids=(v.OTHER_LOCK_ID,)))


async def bad_pop(rig: PadlockRig, session: PadlockSession) -> m.Result:
    return await unlock_with(session, token(), holder=v.ROGUE)


async def revoked(rig: PadlockRig, session: PadlockSession) -> m.Result:
    pushed = await session.result_of(m.RevocationPush(v.revocations(revoked=frozenset({v.claims().cti}))))
    assert pushed.ok
    return await unlock_with(session, token())


async def gas_test_required(rig: PadlockRig, session: PadlockSession) -> m.Result:
    return await unlock_with(session, token(gas_test_required=True))


async def attestation_stale(rig: PadlockRig, session: PadlockSession) -> m.Result:
    assert (await session.result_of(m.GasAttestationPush(v.attestation(measured_at=NOW - 60, valid_for=120)))).ok
    rig.clock.advance(120)
    return await unlock_with(session, token(gas_test_required=True))


async def gas_out_of_range(rig: PadlockRig, session: PadlockSession) -> m.Result:
    assert (await session.result_of(m.GasAttestationPush(v.attestation(in_range=False)))).ok
    return await unlock_with(session, token(gas_test_required=True))


async def challenge_unknown_or_used(rig: PadlockRig, session: PadlockSession) -> m.Result:
    tok = token()
    pop = sign_pop(v.WORKER, b"no challenge", v.LOCK_ID, token_hash(tok))
    return await session.result_of(m.UnlockRequest(nonce=bytes(16), token=tok, pop_signature=pop))


async def challenge_expired(rig: PadlockRig, session: PadlockSession) -> m.Result:
    tok = token()
    built = await session.unlock_request(tok, v.WORKER)
    assert not isinstance(built, m.Result)
    rig.clock.advance(31)
    return await session.result_of(built[0])


async def not_provisioned(rig: PadlockRig, session: PadlockSession) -> m.Result:
    raise AssertionError("run by test_a_factory_new_lock_is_not_provisioned_until_a_technician_provisions_it")


async def busy(rig: PadlockRig, session: PadlockSession) -> m.Result:
    rig.lock.faults.response_delay_s = 0.3
    await session.send(m.InfoRequest())
    await session.send(m.ChallengeRequest())  # a central must wait for the answer first
    answer, _ = await session.receive()
    info, _ = await session.receive()
    assert isinstance(info, m.InfoResponse)
    assert isinstance(answer, m.Result)
    assert answer.request == int(m.MessageType.CHALLENGE_REQUEST) and answer.retry_after == 1
    return answer


async def bad_request(rig: PadlockRig, session: PadlockSession) -> m.Result:
    await session.link.write(fragment(b"\xa1\x00\x01" * 10, 23)[1])  # a continuation with no first fragment
    answer, _ = await session.receive()
    assert isinstance(answer, m.Result) and answer.request == 0
    # A whole message that is not a valid request is a bad request too, naming the type it claimed.
    invalid, _ = await session.request(cbor.dumps({0: 0x02, 1: 9}))
    assert invalid == m.Result("bad_request", int(m.MessageType.CHALLENGE_REQUEST))
    return answer


async def unsupported(rig: PadlockRig, session: PadlockSession) -> m.Result:
    lock_side, _ = await session.request(m.Result("ok", 0).encode())  # a lock → central message
    assert lock_side == m.Result("unsupported", int(m.MessageType.RESULT))
    answer, _ = await session.request(cbor.dumps({0: 0x42}))
    assert isinstance(answer, m.Result) and answer.request == 0x42
    return answer


async def stale(rig: PadlockRig, session: PadlockSession) -> m.Result:
    attestation = v.attestation()
    assert (await session.result_of(m.GasAttestationPush(attestation))).ok
    return await session.result_of(m.GasAttestationPush(attestation))  # a replay of the same measurement


async def not_in_provisioning_mode(rig: PadlockRig, session: PadlockSession) -> m.Result:
    return await session.result_of(provision_message(v.OTHER_LOCK_ID))


async def deferred(rig: PadlockRig, session: PadlockSession) -> m.Result:
    assert (await unlock_with(session, token())).ok  # a session is open: never lock people in
    return await session.result_of(m.RevocationPush(v.revocations(revoked=frozenset({v.claims().cti}))))


SCENARIOS: dict[str, Scenario] = {
    "ok": ok, "malformed": malformed, "bad_signature": bad_signature, "unknown_kid": unknown_kid,
    "expired": expired, "not_yet_valid": not_yet_valid, "wrong_lock": wrong_lock, "bad_pop": bad_pop,
    "revoked": revoked, "gas_test_required": gas_test_required, "attestation_stale": attestation_stale,
    "gas_out_of_range": gas_out_of_range, "challenge_unknown_or_used": challenge_unknown_or_used,
    "challenge_expired": challenge_expired, "not_provisioned": not_provisioned,
    "busy": busy, "bad_request": bad_request, "unsupported": unsupported, "stale": stale,
    "not_in_provisioning_mode": not_in_provisioning_mode, "deferred": deferred,
}


#: Codes a v1 lock never answers: "backoff" is retired (junk costs the sender's link, never the holder).
RETIRED = {"backoff"}


def test_every_result_code_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(RESULT_CODES) - RETIRED


@pytest.mark.parametrize("code", sorted(set(SCENARIOS) - {"not_provisioned"}))
async def test_the_lock_answers(code: str, rig: PadlockRig) -> None:
    async with rig.session() as session:
        result = await asyncio.wait_for(SCENARIOS[code](rig, session), 20)
    assert result.code == code
    refused = [e for e in rig.core.log.decoded() if e.event.kind is EventKind.UNLOCK_REFUSED]
    if result.request == UNLOCK and code != "ok":
        assert refused[-1].event.value == RESULT_CODES[code]  # each refused unlock is logged
    assert rig.core.open == (code in ("ok", "deferred"))


async def test_a_factory_new_lock_is_not_provisioned_until_a_technician_provisions_it(ble_radio: object,
                                                                                       tmp_path: object) -> None:
    async with padlock_rig(ble_radio, tmp_path, provisioned=False) as rig, rig.session() as session:  # type: ignore[arg-type]
        assert rig.core.provisioning_mode
        refused = await session.challenge()
        assert refused == m.Result("not_provisioned", int(m.MessageType.CHALLENGE_REQUEST))
        assert (await unlock_with(session, token())).code == "not_provisioned"
        assert (await session.result_of(m.UnlockRequest(bytes(16), token(), bytes(64)))).code == "not_provisioned"
        info = await session.info()
        assert isinstance(info, m.InfoResponse) and info.trust_version == 0
        assert (await session.result_of(provision_message(time=NOW))).ok  # the technician, in provisioning mode
        assert (await unlock_with(session, token())).ok
        assert not rig.core.provisioning_mode and rig.core.lock_id == v.LOCK_ID
        # Out of provisioning mode, nobody can re-provision the lock over the air.
        assert (await session.result_of(provision_message())).code == "not_in_provisioning_mode"


async def test_a_deferred_revocation_takes_effect_when_the_attendant_closes_the_lock(rig: PadlockRig) -> None:
    async with rig.session() as session:
        assert (await deferred(rig, session)).code == "deferred"
        assert rig.core.revocations is None
        await rig.lock.close()
        closed = await session.wait_for_event(2.0)
        assert closed is not None
        assert rig.core.revocations is not None and v.claims().cti in rig.core.revocations.revoked
        assert (await unlock_with(session, token())).code == "revoked"


async def test_a_trust_list_push_rotates_the_issuer_and_rejects_another_locks_list(rig: PadlockRig) -> None:
    new_issuer = crypto.generate_private_key()
    kid = crypto.key_id(new_issuer)
    listed = TrustList(version=1, issued_at=NOW, lock_ids=(v.LOCK_ID,),
                       issuer_keys={kid: crypto.public_raw(new_issuer)}, gateway_key=crypto.public_raw(v.GATEWAY))
    other = TrustList(version=2, issued_at=NOW, lock_ids=(v.OTHER_LOCK_ID,), issuer_keys=listed.issuer_keys,
                      gateway_key=listed.gateway_key)
    async with rig.session() as session:
        assert (await session.result_of(m.TrustListPush(sign_trust_list(other, v.ISSUER, kid=v.ISSUER_KID)))).code \
            == "wrong_lock"
        assert (await session.result_of(m.TrustListPush(sign_trust_list(listed, v.ISSUER, kid=v.ISSUER_KID)))).ok
        assert (await unlock_with(session, token())).code == "unknown_kid"  # the old issuer is gone
        fresh = v.token(v.claims(gas_test_required=False), key=new_issuer, kid=kid)
        assert (await unlock_with(session, fresh)).ok
    assert rig.core.trust_version == 1


async def test_junk_over_the_radio_drops_the_sender_s_link_and_the_holder_then_opens_at_once(rig: PadlockRig) -> None:
    junk = m.UnlockRequest(nonce=bytes(16), token=token(), pop_signature=bytes(64))  # answers no challenge
    rounds = -(-ABUSE_THRESHOLD // JUNK_PER_LINK)  # enough links for the abuse threshold
    for _ in range(rounds):
        async with rig.session() as session:
            for _ in range(JUNK_PER_LINK):
                assert (await session.result_of(junk)).code == "challenge_unknown_or_used"
            with pytest.raises(LinkLost):  # the lock hung up on the sender
                await session.receive(timeout_s=STEP_TIMEOUT_S)
    assert rig.lock.links_dropped_for_junk == rounds
    async with rig.session() as session:
        assert (await unlock_with(session, token())).ok  # no backoff: the holder opens at once
    abuse = [e for e in rig.core.log.decoded() if e.event.kind is EventKind.ABUSE]
    assert [e.event.value for e in abuse] == [ABUSE_THRESHOLD]
    assert EventKind.TAMPER not in {e.event.kind for e in rig.core.log.decoded()}
