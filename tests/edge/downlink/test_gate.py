"""The command gate and its durable counters: what passes, what is refused and why, and across a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.downlink import CommandGate, CommandRejected, CounterStore, readable_command
from protocols import crypto
from protocols.commands import ACK_CHANNEL, DOWN_CHANNEL, TimeSet, decode_poll, encode_poll
from protocols.vectorgen import seeded_key
from tests.edge.downlink.commands import CLOUD_KEY, CLOUD_KEYS, GATEWAY, alarm_ack, now_ms, time_set

FORGER = seeded_key("downlink-test-forger")


async def test_counters_survive_a_restart_and_never_go_down(tmp_path: Path) -> None:
    store = await CounterStore.open(tmp_path / "d.db")
    assert store.last(DOWN_CHANNEL) == 0 and store.last(ACK_CHANNEL) == 0
    await store.advance(DOWN_CHANNEL, 5)
    await store.advance(ACK_CHANNEL, 9)
    with pytest.raises(ValueError):
        await store.advance(DOWN_CHANNEL, 5)
    await store.close()
    again = await CounterStore.open(tmp_path / "d.db")
    try:
        assert again.last(DOWN_CHANNEL) == 5 and again.last(ACK_CHANNEL) == 9
    finally:
        await again.close()


@pytest.mark.parametrize(("wire", "code"), [
    (lambda: alarm_ack(1, key=FORGER), "unknown_kid"),  # signed by a key the gateway does not trust
    (lambda: alarm_ack(1, key=FORGER, kid=crypto.key_id(CLOUD_KEY)), "bad_signature"),  # forged under our kid
    (lambda: alarm_ack(1, gateway="gw-other"), "wrong_gateway"),  # misdirected
    (lambda: alarm_ack(1, issued_at_ms=now_ms() - 120_000), "expired"),
    (lambda: b'{"v":1,"cose":"AAAA"}', "malformed"),
])
async def test_refused_commands_name_their_reason(tmp_path: Path, wire, code: str) -> None:
    store = await CounterStore.open(tmp_path / "d.db")
    gate = CommandGate(store, CLOUD_KEYS, gateway=GATEWAY)
    try:
        with pytest.raises(CommandRejected) as info:
            await gate.accept(wire(), DOWN_CHANNEL)
        assert info.value.code == code
        assert gate.rejected == {code: 1}
        assert store.last(DOWN_CHANNEL) == 0  # a refused command moves no counter
    finally:
        await store.close()


async def test_a_replay_is_refused_even_after_a_restart(tmp_path: Path) -> None:
    first = alarm_ack(7)
    store = await CounterStore.open(tmp_path / "d.db")
    gate = CommandGate(store, CLOUD_KEYS, gateway=GATEWAY)
    command = await gate.accept(first, DOWN_CHANNEL)
    assert command.kind == "alarm_ack" and command.counter == 7
    with pytest.raises(CommandRejected, match="not above") as info:
        await gate.accept(first, DOWN_CHANNEL)
    assert info.value.code == "replayed"
    await store.close()

    store = await CounterStore.open(tmp_path / "d.db")
    gate = CommandGate(store, CLOUD_KEYS, gateway=GATEWAY)
    try:
        with pytest.raises(CommandRejected) as info:
            await gate.accept(first, DOWN_CHANNEL)
        assert info.value.code == "replayed"
        assert (await gate.accept(alarm_ack(8), DOWN_CHANNEL)).counter == 8
    finally:
        await store.close()


async def test_an_untrusted_clock_refuses_all_but_time_and_acks_only_verify_on_their_channel(tmp_path: Path) -> None:
    store = await CounterStore.open(tmp_path / "d.db")
    gate = CommandGate(store, CLOUD_KEYS, gateway=GATEWAY, clock_ms=lambda: None)
    try:
        with pytest.raises(CommandRejected) as info:
            await gate.accept(alarm_ack(1), DOWN_CHANNEL)
        assert info.value.code == "untrusted_clock"
        assert await gate.verify_ack(alarm_ack(2)) is None  # an alarm_ack on the ack channel
        assert gate.rejected["wrong_channel"] == 1
    finally:
        await store.close()


def test_a_gate_without_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="no trusted"):
        CommandGate(None, {}, gateway=GATEWAY)  # type: ignore[arg-type]


@pytest.mark.parametrize("takes_it", [True, False])
async def test_a_fresh_time_command_our_clock_calls_expired(tmp_path: Path, takes_it: bool) -> None:
    """Our clock runs 10 minutes ahead: a fresh time command looks expired. The clock keeper decides from the
    command (uplink spec 5.5: only one echoing our own time request, and not against NTP); any other
    expired-looking command stays refused and never reaches it."""
    calls: list[int] = []

    def on_expired_time(command: TimeSet) -> bool:
        calls.append(command.counter)
        return takes_it

    store = await CounterStore.open(tmp_path / "d.db")
    gate = CommandGate(store, CLOUD_KEYS, gateway=GATEWAY, clock_ms=lambda: now_ms() + 600_000,
                       on_expired_time=on_expired_time)
    try:
        with pytest.raises(CommandRejected) as info:
            await gate.accept(alarm_ack(1), DOWN_CHANNEL)
        assert info.value.code == "expired" and not calls  # not a time command: no reason to doubt the clock
        if takes_it:
            command = await gate.accept(time_set(2), DOWN_CHANNEL)
            assert command.kind == "time" and store.last(DOWN_CHANNEL) == 2
        else:
            with pytest.raises(CommandRejected) as info:
                await gate.accept(time_set(2), DOWN_CHANNEL)
            assert info.value.code == "expired" and store.last(DOWN_CHANNEL) == 0
        assert calls == [2]
        with pytest.raises(CommandRejected) as info:  # a forged time command never reaches the hook
            await gate.accept(time_set(3, key=FORGER, kid=crypto.key_id(CLOUD_KEY)), DOWN_CHANNEL)
        assert info.value.code == "bad_signature" and calls == [2]
    finally:
        await store.close()


def test_a_refused_command_is_readable_only_when_it_decodes_and_names_this_gateway() -> None:
    wire = alarm_ack(9, key=seeded_key("not-the-cloud"))  # a signature nobody trusts: still readable
    command = readable_command(wire, GATEWAY)
    assert command is not None and command.counter == 9 and command.kind == "alarm_ack"
    (polled,) = decode_poll(encode_poll([wire]))  # as an HTTP poll hands it over
    assert readable_command(polled, GATEWAY) == command
    assert readable_command(alarm_ack(10, gateway="gw-elsewhere"), GATEWAY) is None  # another gateway's counter
    assert readable_command(b'{"v": 1, "cose": "AAAA"}', GATEWAY) is None
    assert readable_command(b"not json", GATEWAY) is None
