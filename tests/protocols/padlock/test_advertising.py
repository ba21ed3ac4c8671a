"""The padlock's advertising payload: layout, round trip and refusal of foreign or broken data."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.errors import GattError
from protocols.padlock.advertising import (
    KNOWN_STATE,
    LEGACY_ADV_MAX,
    LockAdvert,
    LockState,
    decode_advertising,
    decode_manufacturer_data,
    scan_response,
)
from protocols.padlock.gatt import SERVICE_UUID

adverts = st.builds(LockAdvert, lock_id=st.binary(min_size=8, max_size=8),
                    state=st.integers(0, int(KNOWN_STATE)).map(lambda v: LockState(v) & KNOWN_STATE),
                    event_seq=st.integers(0, 2**32 - 1), battery=st.none() | st.integers(0, 100))


@given(adverts)
def test_advert_round_trips_and_fits_legacy_advertising(advert: LockAdvert) -> None:
    payload = advert.encode()
    assert len(payload) == 24 <= LEGACY_ADV_MAX
    assert decode_advertising(payload) == advert
    assert decode_manufacturer_data(advert.manufacturer_data()) == advert


def test_advert_byte_layout() -> None:
    advert = LockAdvert(lock_id=bytes.fromhex("0102030405060708"), state=LockState.OPEN | LockState.SESSION,
                        event_seq=0x01020304, battery=87)
    assert advert.encode().hex() == "020106" "14ff" "ffff" "5347" "01" "0102030405060708" "11" "04030201" "57"
    assert len(scan_response()) == 18
    assert scan_response()[2:] == SERVICE_UUID.bytes[::-1]


def test_reserved_state_bits_are_ignored_on_receipt_and_refused_on_send() -> None:
    body = bytearray(LockAdvert(bytes(8), LockState(0), 1, None).manufacturer_data())
    body[11] = 0xE1
    assert decode_manufacturer_data(bytes(body)).state == LockState.OPEN
    with pytest.raises(GattError):
        LockAdvert(bytes(8), LockState(0x80), 1, None)


def test_foreign_or_broken_adverts_are_refused() -> None:
    good = LockAdvert(bytes(8), LockState(0), 1, 50)
    with pytest.raises(GattError):
        decode_advertising(bytes.fromhex("0201060303aafe"))  # someone else's device
    body = bytearray(good.manufacturer_data())
    body[2] = 2
    with pytest.raises(GattError) as err:
        decode_manufacturer_data(bytes(body))
    assert err.value.code == "unsupported_version"
    body = bytearray(good.manufacturer_data())
    body[-1] = 101
    with pytest.raises(GattError):
        decode_manufacturer_data(bytes(body))
    with pytest.raises(GattError):
        decode_advertising(good.encode()[:-1])  # AD structure runs past the end
    with pytest.raises(GattError):
        decode_advertising(good.encode() + bytes(8))  # over 31 bytes
    assert decode_advertising(good.encode() + bytes(7)) == good  # zero padding after the last AD is fine


@given(st.binary(max_size=40))
def test_random_payloads_only_raise_gatt_error(data: bytes) -> None:
    with contextlib.suppress(GattError):
        decode_advertising(data)
    with contextlib.suppress(GattError):
        decode_manufacturer_data(data)


@given(adverts, st.data())
def test_mutated_payloads_only_raise_gatt_error(advert: LockAdvert, data: st.DataObject) -> None:
    payload = bytearray(advert.encode())
    payload[data.draw(st.integers(0, len(payload) - 1))] ^= data.draw(st.integers(1, 255))
    with contextlib.suppress(GattError):
        assert isinstance(decode_advertising(bytes(payload)), LockAdvert)
