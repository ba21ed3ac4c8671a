"""The padlock link over the virtual radio against the padlock simulator (bumble backend)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest

from edge.clocktrust import ClockUntrusted
from edge.drivers.ble import Backend, PadlockLinkError, open_link
from edge.drivers.ble.bumble_link import BumblePadlockLink
from fwsim.lock import PadlockPeripheral
from fwsim.rig.radio import attached_device
from protocols import crypto
from protocols.padlock.events import EventKind
from protocols.padlock.messages import PushKind
from protocols.padlock.pushes import TrustList, sign_trust_list
from tests.edge.drivers.ble.world import (
    LOCK_ID,
    STEP_TIMEOUT_S,
    Keys,
    attestation,
    gateway_link,
    provisioned_core,
    revocation_list,
    signer,
    start_lock,
)
from tests.rig.waiting import eventually


async def within(awaitable: Any) -> Any:
    return await asyncio.wait_for(awaitable, STEP_TIMEOUT_S)


async def test_info_and_advert_identify_the_lock(link: BumblePadlockLink, padlock: PadlockPeripheral) -> None:
    advert = await within(link.scan_advert(5.0))
    assert advert is not None and advert.lock_id == LOCK_ID and advert.event_seq == padlock.core.log.last_seq
    info = await within(link.read_info())
    assert info.lock_id == LOCK_ID and info.lock_key == padlock.core.lock_public_key
    assert info.event_seq == padlock.core.log.last_seq


async def test_events_are_pulled_and_verified_after_the_counter_moves(link: BumblePadlockLink,
                                                                      padlock: PadlockPeripheral) -> None:
    first = await within(link.fetch_events(0))
    assert [e.event.kind for e in first] == [EventKind.PROVISIONED, EventKind.POWER_ON]
    await padlock.force_open()
    await padlock.set_battery(12)
    advert = await within(link.scan_advert(5.0))
    assert advert is not None and advert.event_seq == first[-1].seq + 2  # the counter moved
    later = await within(link.fetch_events(first[-1].seq, prev_hash=first[-1].hash))
    assert [e.event.kind for e in later] == [EventKind.FORCED_OPEN, EventKind.LOW_BATTERY]
    assert later[0].prev_hash == first[-1].hash
    assert await within(link.fetch_events(later[-1].seq, prev_hash=later[-1].hash)) == []


async def test_many_entries_come_in_several_batches_of_fragments(link: BumblePadlockLink,
                                                                 padlock: PadlockPeripheral) -> None:
    for _ in range(40):  # more than one audit batch (32), each batch many fragments
        await padlock.tamper()
    entries = await within(link.fetch_events(0))
    assert [e.seq for e in entries] == list(range(1, padlock.core.log.last_seq + 1))
    assert len(entries) == 42


@pytest.mark.parametrize("damage", ["edited", "deleted"])
async def test_a_tampered_lock_log_is_reported_as_bad_chain(link: BumblePadlockLink, padlock: PadlockPeripheral,
                                                            damage: str) -> None:
    for _ in range(3):
        await padlock.tamper()
    log = padlock.core.log.entries  # the lock's flash, edited behind its back
    if damage == "edited":
        raw = bytearray(log[2])
        raw[-70] ^= 0x01
        log[2] = bytes(raw)
    else:
        del log[2]
    with pytest.raises(PadlockLinkError) as caught:
        await within(link.fetch_events(0))
    assert caught.value.code == "bad_chain"


async def test_a_lock_key_other_than_the_enrolled_one_fails_the_chain(ble_radio: Any, padlock: PadlockPeripheral,
                                                                      keys: Keys) -> None:
    async with gateway_link(ble_radio.device("gw2"), padlock.core) as link:
        link.lock_public_key = keys.rogue.public_key()
        with pytest.raises(PadlockLinkError) as caught:
            await within(link.fetch_events(0))
    assert caught.value.code == "bad_chain"


async def test_attestation_and_revocation_pushes_are_accepted_and_forgeries_refused(
        link: BumblePadlockLink, keys: Keys) -> None:
    assert await within(link.push(PushKind.GAS_ATTESTATION, attestation(keys.gateway))) == "ok"
    forged = attestation(keys.rogue, kid_of=keys.gateway, measured_at=int(time.time()) + 1)
    assert await within(link.push(PushKind.GAS_ATTESTATION, forged)) == "bad_signature"
    assert await within(link.push(PushKind.REVOCATION_LIST, revocation_list(keys.issuer, kid_of=keys.issuer))) == "ok"
    forged_list = revocation_list(keys.rogue, kid_of=keys.issuer, version=2)
    assert await within(link.push(PushKind.REVOCATION_LIST, forged_list)) == "bad_signature"
    info = await within(link.read_info())
    assert info.revocation_version == 1
    replayed = revocation_list(keys.issuer, kid_of=keys.issuer, version=1)
    assert await within(link.push(PushKind.REVOCATION_LIST, replayed)) == "stale"


async def test_a_time_set_from_a_trusted_clock_is_accepted_and_logged(link: BumblePadlockLink,
                                                                      padlock: PadlockPeripheral) -> None:
    host = time.time()
    padlock.core.clock.set(int(host) - 3600, host)  # the lock's RTC reads an hour behind (the floor holds it)
    padlock.core.clock.floor = int(host) - 3600
    assert await within(link.push(PushKind.TIME_SET, b"")) == "ok"
    info = await within(link.read_info())
    assert abs(info.lock_time - time.time()) < 60
    assert padlock.core.log.decoded()[-1].event.kind is EventKind.TIME_SET


async def test_a_forged_time_set_is_refused(ble_radio: Any, padlock: PadlockPeripheral, keys: Keys) -> None:
    forger = Keys(issuer=keys.issuer, gateway=keys.rogue, rogue=keys.rogue)
    async with gateway_link(ble_radio.device("gw2"), padlock.core, time_signer=signer(forger)) as link:
        assert await within(link.push(PushKind.TIME_SET, b"")) == "unknown_kid"
    assert padlock.core.log.decoded()[-1].event.kind is not EventKind.TIME_SET


async def test_no_time_is_pushed_from_an_untrusted_clock(ble_radio: Any, padlock: PadlockPeripheral,
                                                         keys: Keys) -> None:
    handled = padlock.requests_handled
    async with gateway_link(ble_radio.device("gw2"), padlock.core, time_signer=signer(keys, trusted=False)) as link:
        with pytest.raises(ClockUntrusted):
            await within(link.push(PushKind.TIME_SET, b""))
        with pytest.raises(ValueError, match="signed on the link"):
            await link.push(PushKind.TIME_SET, b"\x01")
    assert padlock.requests_handled == handled  # the lock was not even asked


async def test_a_link_dropped_mid_response_is_a_clean_error_then_the_retry_succeeds(
        link: BumblePadlockLink, padlock: PadlockPeripheral) -> None:
    for _ in range(5):
        await padlock.tamper()  # enough entries for a multi-fragment response
    padlock.faults.drop_mid_response = 1
    with pytest.raises(PadlockLinkError) as caught:
        await within(link.fetch_events(0))
    assert caught.value.code == "link_lost"
    entries = await within(link.fetch_events(0))
    assert [e.seq for e in entries] == list(range(1, padlock.core.log.last_seq + 1))


async def test_a_link_dropped_mid_request_is_a_clean_error_then_the_push_succeeds(
        link: BumblePadlockLink, padlock: PadlockPeripheral, keys: Keys) -> None:
    big_list = revocation_list(keys.issuer, kid_of=keys.issuer, revoked_count=60)  # many fragments
    padlock.faults.drop_mid_request = 1
    with pytest.raises(PadlockLinkError) as caught:
        await within(link.push(PushKind.REVOCATION_LIST, big_list))
    assert caught.value.code == "link_lost"
    assert padlock.core.revocations is None  # nothing half-applied
    assert await within(link.push(PushKind.REVOCATION_LIST, big_list)) == "ok"
    assert padlock.core.revocations is not None and len(padlock.core.revocations.revoked) == 60


async def test_a_silent_lock_times_out_and_the_link_lets_go(ble_radio: Any, padlock: PadlockPeripheral) -> None:
    padlock.faults.response_delay_s = 5.0
    async with gateway_link(ble_radio.device("gw2"), padlock.core, response_timeout_s=0.3) as link:
        with pytest.raises(PadlockLinkError) as caught:
            await within(link.read_info())
        assert caught.value.code == "timeout"
        padlock.faults.response_delay_s = 0.0
        await within(link.scan_advert(5.0))  # advertising again: the gateway disconnected
        assert not padlock.connected
        assert (await within(link.read_info())).lock_id == LOCK_ID


async def test_an_absent_lock_is_not_found(ble_radio: Any, padlock: PadlockPeripheral) -> None:
    async with gateway_link(ble_radio.device("gw2"), padlock.core, scan_timeout_s=0.5) as link:
        link.lock_id = bytes(8)
        assert await within(link.scan_advert(0.5)) is None
        with pytest.raises(PadlockLinkError) as caught:
            await within(link.read_info())
    assert caught.value.code == "not_found"


async def test_open_link_builds_the_bumble_backend_over_a_tcp_transport(ble_radio_tcp: Any, keys: Keys) -> None:
    lock_spec, gateway_spec = ble_radio_tcp.transports
    core = provisioned_core(keys)
    async with attached_device(lock_spec, "padlock") as device:
        lock = await start_lock(device, core)
        try:
            link = open_link(Backend.BUMBLE, lock_id=core.lock_id, lock_public_key=core.lock_public_key,
                             address=None, hci=gateway_spec)
            async with link:
                assert isinstance(link, BumblePadlockLink)
                entries = await within(link.fetch_events(0))
                assert [e.event.kind for e in entries] == [EventKind.PROVISIONED, EventKind.POWER_ON]
        finally:
            await lock.stop()


def test_open_link_checks_its_arguments() -> None:
    key = crypto.public_raw(crypto.generate_private_key())
    with pytest.raises(ValueError, match="exactly one"):
        open_link("bumble", lock_id=LOCK_ID, lock_public_key=key, address=None)
    with pytest.raises(ValueError, match="lock_id"):
        open_link("bumble", lock_id=b"short", lock_public_key=key, address=None, hci="tcp-client:127.0.0.1:1")
    with pytest.raises(ValueError, match="lock_public_key"):
        open_link("bumble", lock_id=LOCK_ID, lock_public_key=b"\x00" * 5, address=None, hci="tcp-client:127.0.0.1:1")
    with pytest.raises(ValueError):
        open_link("carrier-pigeon", lock_id=LOCK_ID, lock_public_key=key, address=None)


async def test_a_visit_cancelled_from_outside_still_lets_go_of_the_lock(link: BumblePadlockLink,
                                                                        padlock: PadlockPeripheral) -> None:
    padlock.faults.response_delay_s = 2.0
    fetch = asyncio.ensure_future(link.fetch_events(0))
    await eventually(lambda: padlock.connected, "the gateway connected")
    fetch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await fetch
    padlock.faults.response_delay_s = 0.0
    assert await within(link.scan_advert(5.0)) is not None  # advertising again: released
    assert not padlock.connected


async def test_the_gateway_gives_the_lock_back_when_its_hold_runs_out(ble_radio: Any,
                                                                      padlock: PadlockPeripheral) -> None:
    for _ in range(40):
        await padlock.tamper()
    padlock.faults.response_delay_s = 0.25
    async with gateway_link(ble_radio.device("gw2"), padlock.core, hold_s=1.0, response_timeout_s=0.45) as link:
        try:
            partial = await within(link.fetch_events(0))
        except PadlockLinkError as exc:  # a very slow machine: the hard hold limit cut the visit
            assert exc.code == "timeout"
            partial = []
        assert len(partial) < padlock.core.log.last_seq  # stopped early rather than hold on
        assert [e.seq for e in partial] == list(range(1, len(partial) + 1))
        padlock.faults.response_delay_s = 0.0
        since, prev = (partial[-1].seq, partial[-1].hash) if partial else (0, None)
        rest: list[Any] = []
        for _visit in range(10):  # a loaded machine may cut a later visit at the hold limit too: resume again
            more = await within(link.fetch_events(since, prev_hash=prev))
            rest += more
            if not more or more[-1].seq >= padlock.core.log.last_seq:
                break
            since, prev = more[-1].seq, more[-1].hash
    assert [e.seq for e in partial + rest] == list(range(1, padlock.core.log.last_seq + 1))


async def test_a_trust_list_push_is_accepted_and_a_forged_one_refused(link: BumblePadlockLink, keys: Keys) -> None:
    trust = TrustList(version=1, issued_at=int(time.time()), lock_ids=(LOCK_ID,),
                      issuer_keys={crypto.key_id(keys.issuer): crypto.public_raw(keys.issuer)},
                      gateway_key=crypto.public_raw(keys.gateway))
    forged = sign_trust_list(replace(trust, version=2), keys.rogue, kid=crypto.key_id(keys.issuer))
    assert await within(link.push(PushKind.TRUST_LIST, forged)) == "bad_signature"
    signed = sign_trust_list(trust, keys.issuer, kid=crypto.key_id(keys.issuer))
    assert await within(link.push("trust_list", signed)) == "ok"  # the daemon's string names are PushKind's values
    assert (await within(link.read_info())).trust_version == 1
