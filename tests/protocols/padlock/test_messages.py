"""Every padlock message round-trips, and any bytes into the decoders raise only GattError."""

from __future__ import annotations

import contextlib

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols import cbor
from protocols.errors import GattError
from protocols.padlock import messages as m
from protocols.padlock.fragment import Reassembler, fragment
from protocols.padlock.results import RESULT_CODES, RESULT_NAMES, push_result, result_name
from tests.protocols.padlock.strategies import by_class, messages


@given(messages)
def test_every_message_round_trips(message: m.Message) -> None:
    data = message.encode()
    assert m.decode_message(data) == message
    assert type(message).decode(data) == message
    assert m.decode_message(data).encode() == data


@given(messages, st.sampled_from([23, 247]))
def test_every_message_round_trips_through_fragmentation(message: m.Message, mtu: int) -> None:
    r = Reassembler(mtu=mtu)
    out = [r.feed(f) for f in fragment(message.encode(), mtu)]
    assert m.decode_message(out[-1]) == message


def test_every_message_type_has_a_strategy_and_a_class() -> None:
    assert {cls.TYPE for cls in by_class} == set(m.MessageType)


def test_challenge_layout() -> None:
    challenge = m.Challenge(nonce=bytes(range(16)), lock_id=bytes.fromhex("a1a2a3a4a5a6a7a8"), counter=7,
                            lock_time=1_700_000_000)
    assert cbor2.loads(challenge.encode()) == {0: 0x82, 1: bytes(range(16)), 2: bytes.fromhex("a1a2a3a4a5a6a7a8"),
                                               3: 7, 4: 1_700_000_000, 5: 1}


def test_decode_refuses_wrong_type_unknown_type_and_extra_keys() -> None:
    info = m.InfoRequest().encode()
    with pytest.raises(GattError) as err:
        m.Challenge.decode(info)
    assert err.value.code == "unexpected_message"
    with pytest.raises(GattError) as err:
        m.decode_message(cbor.dumps({0: 0x42}))
    assert err.value.code == "unsupported"
    with pytest.raises(GattError):
        m.decode_message(cbor.dumps({0: 0x01, 9: 1}))
    with pytest.raises(GattError):
        m.decode_message(cbor.dumps({0: 0x83, 1: 250, 2: 3}))  # result number not in the table
    with pytest.raises(GattError):
        m.decode_message(cbor.dumps({0: 0x04, 1: 0, 2: 0}))  # audit fetch with limit 0
    with pytest.raises(GattError):
        m.decode_message(cbor.dumps({0: 0x02, 1: True}))  # a bool is not an integer
    with pytest.raises(GattError):
        m.decode_message(cbor.dumps([0, 1]))
    with pytest.raises(GattError):
        m.decode_message(bytes(5000))


def test_encode_refuses_a_message_over_4_kib() -> None:
    with pytest.raises(GattError) as err:
        m.UnlockRequest(nonce=bytes(16), token=bytes(5000), pop_signature=bytes(64)).encode()
    assert err.value.code == "oversize"


def test_result_table_is_stable_and_one_to_one() -> None:
    assert len(RESULT_NAMES) == len(RESULT_CODES)
    assert RESULT_CODES["ok"] == 0 and RESULT_CODES["revoked"] == 8 and RESULT_CODES["challenge_unknown_or_used"] == 32
    assert result_name(37) == "bad_request"
    with pytest.raises(GattError):
        m.Result(code="nonsense", request=3)
    assert push_result(GattError("x", code="stale")) == "stale"
    assert push_result(GattError("x")) == "bad_request"
    assert push_result(ValueError("x")) == "bad_request"


@given(st.binary(max_size=300))
def test_random_bytes_only_raise_gatt_error(data: bytes) -> None:
    with contextlib.suppress(GattError):
        assert isinstance(m.decode_message(data), m.Message)


@given(messages, st.data())
def test_mutated_messages_only_raise_gatt_error(message: m.Message, data: st.DataObject) -> None:
    raw = bytearray(message.encode())
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(1, len(raw)))
    with contextlib.suppress(GattError):
        assert isinstance(m.decode_message(bytes(raw[:cut])), m.Message)


@given(st.dictionaries(st.integers(0, 12), st.one_of(st.integers(-3, 2**65), st.binary(max_size=40), st.booleans(),
                                                      st.text(max_size=5), st.none(), st.lists(st.binary(max_size=4))),
                       max_size=12), st.sampled_from(m.MessageType))
def test_well_formed_cbor_with_wrong_fields_only_raises_gatt_error(fields: dict, msg_type: m.MessageType) -> None:
    fields[0] = int(msg_type)
    with contextlib.suppress(GattError):
        assert isinstance(m.decode_message(cbor.dumps(fields)), m.Message)


def test_each_push_kind_has_one_name_and_one_message() -> None:
    # The names are the ones the gateway's commands and stored holds use: a str enum compares equal to them.
    assert {str(kind) for kind in m.PushKind} == {"trust_list", "revocation_list", "gas_attestation", "time_set"}
    assert m.PushKind("revocation_list") is m.PushKind.REVOCATION_LIST and m.PushKind.TRUST_LIST == "trust_list"
    assert [kind.message.TYPE for kind in m.PushKind] == [m.MessageType.TRUST_LIST_PUSH,
                                                          m.MessageType.REVOCATION_PUSH,
                                                          m.MessageType.GAS_ATTESTATION_PUSH,
                                                          m.MessageType.TIME_SET_PUSH]
    with pytest.raises(ValueError):
        m.PushKind("attestation")  # the link's old short names are gone
