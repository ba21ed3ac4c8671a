"""Random and mutated bytes into every uplink/downlink decoder: EnvelopeError or a valid message, nothing else."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols import crypto
from protocols.commands import decode_poll, encode_poll, sign_command, verify_command
from protocols.errors import EnvelopeError
from protocols.uplink import (
    decode_ack,
    decode_envelope,
    decode_status,
    encode_ack,
    encode_envelope,
    encode_status,
    make_ack,
    make_status,
)
from protocols.vectorgen import seeded_key
from protocols.vectorgen.envelope import GATEWAY, NOW_MS, example_batch, example_commands

CLOUD = seeded_key("cloud-command")
KEYS = {crypto.key_id(CLOUD): CLOUD.public_key()}
SIGNED = {kind: sign_command(cmd, CLOUD, kid=crypto.key_id(CLOUD)) for kind, cmd in example_commands()}
DOWN = [wire for kind, wire in SIGNED.items() if kind != "ack"]


def _verify(data: bytes) -> Any:
    return verify_command(data, KEYS, gateway_id=GATEWAY, last_counter=0, now_ms=NOW_MS)


def _verify_ack(data: bytes) -> Any:
    return verify_command(data, KEYS, gateway_id=GATEWAY, last_counter=0, now_ms=NOW_MS, channel="ack")


DECODERS: dict[str, tuple[Callable[[bytes], Any], list[bytes]]] = {
    "envelope": (decode_envelope, [encode_envelope(example_batch()), encode_envelope(example_batch(), compress=True)]),
    "ack": (decode_ack, [encode_ack(make_ack(GATEWAY, 1, 5, [(6, 9), (12, 12)]))]),
    "status": (decode_status, [encode_status(make_status(GATEWAY, online=True, at_ms=1, epoch=2))]),
    "command": (_verify, DOWN),
    "ack_command": (_verify_ack, [SIGNED["ack"]]),
    "poll": (decode_poll, [encode_poll(DOWN[:3])]),
}


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[at:at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[at:]
    return bytes(data)


@pytest.mark.parametrize("name", DECODERS)
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=512))
def test_random_bytes_raise_only_envelope_error(name: str, data: bytes) -> None:
    decode, _ = DECODERS[name]
    with contextlib.suppress(EnvelopeError):
        decode(data)


@pytest.mark.parametrize("name", DECODERS)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_valid_input_raises_only_envelope_error(name: str, data: st.DataObject) -> None:
    decode, seeds = DECODERS[name]
    with contextlib.suppress(EnvelopeError):
        decode(data.draw(mutated(seeds)))


@pytest.mark.parametrize("name", DECODERS)
def test_seeds_decode(name: str) -> None:
    decode, seeds = DECODERS[name]
    for seed in seeds:
        decode(seed)
