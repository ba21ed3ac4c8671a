"""The padlock peripheral over the virtual radio: unlock, replay, dropped links, power cycles, advertising."""

from __future__ import annotations

import pytest

from fwsim.phone.bumble_central import BumbleCentral
from fwsim.phone.errors import LinkLost, LockNotFound
from fwsim.phone.session import PadlockSession
from protocols import crypto
from protocols.padlock import messages as m
from protocols.padlock.advertising import LockState
from protocols.padlock.audit import GENESIS_HASH, verify_chain
from protocols.padlock.events import EventKind, EventPermit
from protocols.padlock.gatt import DEFAULT_ATT_MTU
from tests.fwsim.lock.world import NOW, PadlockRig, padlock_rig, token, v, verify_log


async def fetch_all(session: PadlockSession, since: int = 0) -> list[bytes]:
    entries: list[bytes] = []
    while True:
        batch = await session.audit_fetch(since, 4)
        assert isinstance(batch, m.AuditEntries)
        entries += batch.entries
        if not batch.more:
            return entries
        since += len(batch.entries)


@pytest.mark.parametrize("mtu", [DEFAULT_ATT_MTU, 247])
async def test_a_valid_unlock_opens_the_lock_and_notifies_a_signed_opened_event(rig: PadlockRig, mtu: int) -> None:
    async with rig.session(mtu=mtu) as session:
        assert session.link.mtu == mtu
        outcome = await session.unlock(token(), v.WORKER)
        info = await session.info()
    assert outcome.ok and outcome.in_words() == "ok: unlocked: the padlock opened"
    assert isinstance(info, m.InfoResponse)
    assert info.state == LockState.OPEN | LockState.SESSION
    before_opened = verify_log(rig.core)[-2]
    (opened,) = verify_chain(outcome.events, crypto.public_key_from_raw(info.lock_key), before_opened.hash,
                             after_seq=info.event_seq - 1)
    assert opened.event.kind is EventKind.OPENED and opened.event.at == NOW
    assert opened.event.permit == EventPermit.from_claims(v.claims(gas_test_required=False))


async def test_a_captured_unlock_replayed_is_refused_on_the_same_and_on_a_new_link(rig: PadlockRig) -> None:
    async with rig.session() as session:
        built = await session.unlock_request(token(), v.WORKER)
        assert not isinstance(built, m.Result)
        captured = built[0].encode()
        first, _ = await session.request(captured)
        replayed, _ = await session.request(captured)
    assert first == m.Result("ok", int(m.MessageType.UNLOCK_REQUEST))
    assert replayed == m.Result("challenge_unknown_or_used", int(m.MessageType.UNLOCK_REQUEST))
    await rig.lock.close()
    async with rig.session() as attacker:
        assert isinstance(await attacker.challenge(), tuple)  # even with a fresh challenge pending
        again, _ = await attacker.request(captured)
    assert again == m.Result("challenge_unknown_or_used", int(m.MessageType.UNLOCK_REQUEST))
    assert not rig.core.open


async def test_link_dropped_mid_request_is_a_clean_error_and_the_next_attempt_opens(rig: PadlockRig) -> None:
    rig.lock.faults.drop_mid_request = 1
    with pytest.raises(LinkLost):
        async with rig.session(mtu=DEFAULT_ATT_MTU) as session:
            await session.unlock(token(), v.WORKER)  # the unlock request takes many 20-byte fragments
    assert not rig.core.open  # nothing half-applied
    assert all(e.event.kind is not EventKind.OPENED for e in rig.core.log.decoded())
    async with rig.session(mtu=DEFAULT_ATT_MTU) as session:
        outcome = await session.unlock(token(), v.WORKER)
    assert outcome.ok and rig.core.open


async def test_link_dropped_mid_response_is_a_clean_error_and_the_next_attempt_opens(rig: PadlockRig) -> None:
    rig.lock.faults.drop_mid_response = 1
    with pytest.raises(LinkLost):
        async with rig.session(mtu=DEFAULT_ATT_MTU) as session:
            await session.unlock(token(), v.WORKER)  # the challenge comes in three notifications
    async with rig.session(mtu=DEFAULT_ATT_MTU) as session:
        assert (await session.unlock(token(), v.WORKER)).ok


async def test_power_cycle_keeps_the_chain_whole_and_verifiable_with_the_lock_key(rig: PadlockRig) -> None:
    async with rig.session() as session:
        assert (await session.unlock(token(), v.WORKER)).ok
        pending = await session.unlock_request(token(), v.WORKER)  # a challenge in RAM when the power goes
    await rig.lock.close()
    rig.clock.advance(60)
    await rig.lock.power_cycle()
    async with rig.session() as session:
        assert isinstance(pending, tuple)
        voided, _ = await session.request(pending[0])
        info = await session.info()
        entries = await fetch_all(session)
    assert voided.code == "challenge_unknown_or_used"
    assert isinstance(info, m.InfoResponse)
    lock_key = crypto.public_key_from_raw(info.lock_key)
    # The chain begins at provisioning, from the genesis hash.
    chain = verify_chain(entries, lock_key, GENESIS_HASH, lock_id=v.LOCK_ID)
    assert [e.event.kind for e in chain] == [EventKind.PROVISIONED, EventKind.POWER_ON, EventKind.OPENED,
                                             EventKind.CLOSED, EventKind.POWER_ON, EventKind.UNLOCK_REFUSED]
    assert chain[-1].seq == info.event_seq == 6
    assert chain[4].event.at == NOW + 60
    assert rig.store.path.stat().st_mode & 0o777 == 0o600


async def test_the_advert_carries_state_and_event_seq_and_the_lock_takes_one_central(rig: PadlockRig,
                                                                                   ble_radio: object) -> None:
    before = await rig.central.find(v.LOCK_ID, 5)
    assert before.advert.state == LockState(0) and before.advert.event_seq == rig.core.log.last_seq
    async with rig.session() as session:
        assert (await session.unlock(token(), v.WORKER)).ok
        other = BumbleCentral(await ble_radio.powered_device("gateway"))  # type: ignore[attr-defined]
        with pytest.raises(LockNotFound):  # connected: the lock does not advertise
            await other.find(v.LOCK_ID, 0.5)
    await rig.lock.set_battery(15)
    after = await other.find(v.LOCK_ID, 5)
    assert after.advert.state == LockState.OPEN | LockState.SESSION | LockState.LOW_BATTERY
    assert after.advert.event_seq == rig.core.log.last_seq > before.advert.event_seq
    assert after.advert.battery == 15


async def test_an_idle_link_is_dropped(ble_radio: object, tmp_path: object) -> None:
    async with padlock_rig(ble_radio, tmp_path, idle_timeout_s=0.3) as rig, rig.session() as session:  # type: ignore[arg-type]
        assert isinstance(await session.info(), m.InfoResponse)
        with pytest.raises(LinkLost):
            await session.link.next_fragment(5.0)


async def test_physical_acts_are_notified_to_the_connected_central_and_logged(rig: PadlockRig) -> None:
    async with rig.session() as session:
        await rig.lock.force_open()
        await rig.lock.mechanical_key_open()
        await rig.lock.tamper()
        await rig.lock.set_battery(10)
        entries = [await session.wait_for_event(2.0) for _ in range(4)]
        assert None not in entries
        kinds = [e.event.kind for e in verify_chain(entries, crypto.public_key_from_raw(rig.core.lock_public_key),  # type: ignore[arg-type]
                                                    verify_log(rig.core)[-5].hash, after_seq=rig.core.log.last_seq - 4)]
        info = await session.info()
    assert kinds == [EventKind.FORCED_OPEN, EventKind.MECHANICAL_KEY, EventKind.TAMPER, EventKind.LOW_BATTERY]
    assert isinstance(info, m.InfoResponse) and LockState.TAMPER in info.state
    async with rig.session() as gateway:
        await fetch_all(gateway, rig.core.log.last_seq - 4)
        info = await gateway.info()
    assert isinstance(info, m.InfoResponse) and LockState.TAMPER not in info.state  # pulled: the latch clears


async def test_a_slow_lock_still_answers(rig: PadlockRig) -> None:
    rig.lock.faults.response_delay_s = 0.2
    async with rig.session() as session:
        assert (await session.unlock(token(), v.WORKER)).ok
    assert rig.lock.requests_handled == 2
