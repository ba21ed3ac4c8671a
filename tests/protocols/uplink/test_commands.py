"""Signed downlink commands: every kind round-trips; every rejection has its own code."""

from __future__ import annotations

import json
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocols import cbor, crypto
from protocols.commands import (
    ACK_CHANNEL,
    COMMAND_KINDS,
    MAX_LIFETIME_MS,
    REJECTION_CODES,
    Command,
    decode_poll,
    encode_poll,
    make_command,
    sign_command,
    verify_command,
)
from protocols.errors import EnvelopeError
from protocols.uplink.envelope import gzip_compress
from protocols.uplink.fields import b64url_decode, b64url_encode
from protocols.vectorgen.envelope import example_commands
from tests.protocols.uplink.builders import GATEWAY, NOW_MS

Keys = dict[bytes, Ed25519PublicKey]


def _config(counter: int = 5, **changes: Any) -> Command:
    value = {"gateway": GATEWAY, "counter": counter, "issued_at_ms": NOW_MS, "expires_at_ms": NOW_MS + 60_000,
             "kind": "config", "body": {"version": 2, "settings": {"x": 1}}}
    return make_command({**value, **changes})


def _verify(data: bytes, keys: Keys, **kw: Any) -> Command:
    args: dict[str, Any] = {"gateway_id": GATEWAY, "last_counter": 4, "now_ms": NOW_MS + 1000, **kw}
    return verify_command(data, keys, **args)


def _code(data: bytes, keys: Keys, **kw: Any) -> str:
    with pytest.raises(EnvelopeError) as err:
        _verify(data, keys, **kw)
    assert err.value.code in REJECTION_CODES
    return err.value.code


@pytest.mark.parametrize(("kind", "command"), example_commands(), ids=COMMAND_KINDS)
def test_every_kind_signs_and_verifies(kind: str, command: Command, cloud_key: Ed25519PrivateKey,
                                       cloud_keys: Keys) -> None:
    wire = sign_command(command, cloud_key, kid=crypto.key_id(cloud_key))
    channel = ACK_CHANNEL if kind == "ack" else "down"
    got = verify_command(wire, cloud_keys, gateway_id=command.gateway, last_counter=command.counter - 1,
                         now_ms=command.issued_at_ms, channel=channel)
    assert got == command and got.kind == kind
    assert verify_command(gzip_compress(wire), cloud_keys, gateway_id=command.gateway,
                          last_counter=command.counter - 1, now_ms=command.issued_at_ms, channel=channel) == command


def test_the_signed_bytes_are_the_payload_json(cloud_key: Ed25519PrivateKey) -> None:
    command = _config()
    cose = b64url_decode(json.loads(sign_command(command, cloud_key, kid=crypto.key_id(cloud_key)))["cose"])
    sign1 = crypto.decode_sign1(cose)
    assert sign1.payload == command.model_dump_json(exclude_defaults=True).encode()
    assert sign1.protected == {1: -19, 3: "application/json", 4: crypto.key_id(cloud_key)}
    assert crypto.verify_raw(cloud_key.public_key(), sign1.signature, sign1.to_be_signed(b"safegrid/command/v1"))


def test_unknown_kid_and_forged_signature(cloud_key: Ed25519PrivateKey, cloud_keys: Keys) -> None:
    forger = crypto.generate_private_key()
    assert _code(sign_command(_config(), forger, kid=crypto.key_id(forger)), cloud_keys) == "unknown_kid"
    assert _code(sign_command(_config(), forger, kid=crypto.key_id(cloud_key)), cloud_keys) == "bad_signature"


def test_a_tampered_payload_does_not_verify(cloud_key: Ed25519PrivateKey, cloud_keys: Keys) -> None:
    sign1 = crypto.decode_sign1(b64url_decode(json.loads(sign_command(_config(), cloud_key,
                                                                      kid=crypto.key_id(cloud_key)))["cose"]))
    payload = sign1.payload.replace(b'"gw-0001"', b'"gw-0002"')
    forged = cbor.dumps(cbor2.CBORTag(18, [sign1.protected_bytes, {}, payload, sign1.signature]))
    wire = json.dumps({"v": 1, "cose": b64url_encode(forged)}).encode()
    assert _code(wire, cloud_keys, gateway_id="gw-0002") == "bad_signature"


def test_a_signature_for_another_purpose_is_not_a_command(cloud_key: Ed25519PrivateKey, cloud_keys: Keys) -> None:
    payload = _config().model_dump_json().encode()
    for aad in (b"", b"safegrid/token/v1"):
        cose = crypto.sign1(payload, cloud_key, kid=crypto.key_id(cloud_key), external_aad=aad,
                            extra_protected={3: "application/json"})
        assert _code(json.dumps({"v": 1, "cose": b64url_encode(cose)}).encode(), cloud_keys) == "bad_signature"
    cose = crypto.sign1(payload, cloud_key, kid=crypto.key_id(cloud_key), external_aad=b"safegrid/command/v1")
    assert _code(json.dumps({"v": 1, "cose": b64url_encode(cose)}).encode(), cloud_keys) == "malformed"


def test_wrong_gateway_replayed_expired(cloud_key: Ed25519PrivateKey, cloud_keys: Keys) -> None:
    kid = crypto.key_id(cloud_key)
    wire = sign_command(_config(counter=5), cloud_key, kid=kid)
    assert _verify(wire, cloud_keys).counter == 5
    assert _code(wire, cloud_keys, gateway_id="gw-0002") == "wrong_gateway"
    assert _code(wire, cloud_keys, last_counter=5) == "replayed"
    assert _code(wire, cloud_keys, last_counter=9) == "replayed"
    assert _verify(wire, cloud_keys, now_ms=NOW_MS + 59_999).counter == 5
    assert _code(wire, cloud_keys, now_ms=NOW_MS + 60_000) == "expired"


def test_channels_keep_acks_and_commands_apart(cloud_key: Ed25519PrivateKey, cloud_keys: Keys) -> None:
    kid = crypto.key_id(cloud_key)
    ack = dict(example_commands())["ack"]
    ack_wire = sign_command(ack, cloud_key, kid=kid)
    assert _code(ack_wire, cloud_keys, last_counter=0, now_ms=ack.issued_at_ms) == "wrong_channel"
    config_wire = sign_command(_config(), cloud_key, kid=kid)
    assert _code(config_wire, cloud_keys, channel=ACK_CHANNEL) == "wrong_channel"


def test_an_untrusted_clock_accepts_only_time(cloud_key: Ed25519PrivateKey, cloud_keys: Keys) -> None:
    kid = crypto.key_id(cloud_key)
    assert _code(sign_command(_config(), cloud_key, kid=kid), cloud_keys, now_ms=None) == "untrusted_clock"
    time_cmd = make_command({"gateway": GATEWAY, "counter": 5, "issued_at_ms": 10, "expires_at_ms": 20,
                             "kind": "time", "body": {"time_ms": 10}})
    wire = sign_command(time_cmd, cloud_key, kid=kid)
    assert _verify(wire, cloud_keys, now_ms=None) == time_cmd  # long "expired" by the cloud's clock
    assert _code(wire, cloud_keys, now_ms=None, last_counter=5) == "replayed"


@pytest.mark.parametrize("change", [
    {"expires_at_ms": NOW_MS},  # not after issue
    {"expires_at_ms": NOW_MS + MAX_LIFETIME_MS + 1},
    {"counter": 0},
    {"gateway": "gw+"},
    {"kind": "reboot"},
    {"body": {"version": 2}},
    {"v": 2},
])
def test_invalid_commands_cannot_be_made(change: dict[str, Any]) -> None:
    with pytest.raises(EnvelopeError) as err:
        _config(**change)
    assert err.value.code == "malformed"


def test_ack_command_must_name_its_own_gateway() -> None:
    value = {"gateway": GATEWAY, "counter": 1, "issued_at_ms": 0, "expires_at_ms": 1, "kind": "ack",
             "body": {"v": 1, "gateway": "gw-0002", "epoch": 1, "watermark": 0}}
    with pytest.raises(EnvelopeError, match="another gateway"):
        make_command(value)


def test_permit_window_must_be_positive() -> None:
    claims = dict(example_commands())["permit_issued"].body.claims.model_dump()
    value = {"gateway": GATEWAY, "counter": 1, "issued_at_ms": 0, "expires_at_ms": 1, "kind": "permit_issued",
             "body": {"claims": {**claims, "not_after_ms": claims["not_before_ms"]}}}
    with pytest.raises(EnvelopeError, match="not_after_ms"):
        make_command(value)


@pytest.mark.parametrize("wire", [
    b"", b"{}", b"[]", b'{"v":1}', b'{"v":1,"cose":""}', b'{"v":1,"cose":"AAAA"}', b'{"v":1,"cose":"A+A"}',
    b'{"v":1,"cose":"' + b64url_encode(b"\xd2\x84\x40\xa0\x40\x40").encode() + b'"}',  # empty protected header
])
def test_malformed_wire(wire: bytes, cloud_keys: Keys) -> None:
    assert _code(wire, cloud_keys) == "malformed"


def test_oversize_command_is_too_large(cloud_key: Ed25519PrivateKey, cloud_keys: Keys) -> None:
    assert _code(b'{"v":1,"cose":"' + b"A" * 70_000 + b'"}', cloud_keys) == "too_large"


def test_http_poll_round_trip(cloud_key: Ed25519PrivateKey, cloud_keys: Keys) -> None:
    kid = crypto.key_id(cloud_key)
    wires = [sign_command(_config(counter=c), cloud_key, kid=kid) for c in (5, 6)]
    polled = decode_poll(encode_poll(wires))
    assert [_verify(s, cloud_keys, last_counter=c).counter for s, c in zip(polled, (4, 5), strict=True)] == [5, 6]
    assert decode_poll(b'{"v":1,"commands":[]}') == []
    with pytest.raises(EnvelopeError):
        decode_poll(b'{"v":1,"commands":[{"v":1}]}')
