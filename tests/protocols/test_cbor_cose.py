"""The shared CBOR and COSE_Sign1 core: strict decoding, signature checks, no stray exceptions."""

from __future__ import annotations

import contextlib

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols import cbor, crypto
from protocols.errors import CborError, ProtocolError, SignatureError


def test_loads_rejects_trailing_bytes_and_oversize() -> None:
    assert cbor.loads(cbor.dumps({1: b"x"})) == {1: b"x"}
    with pytest.raises(CborError, match="trailing"):
        cbor.loads(cbor.dumps(1) + b"\x00")
    with pytest.raises(CborError, match="limit"):
        cbor.loads(b"\x40" * 20, max_bytes=10)
    with pytest.raises(CborError):
        cbor.loads(b"")


def test_loads_deep_nesting_is_a_cbor_error() -> None:
    with pytest.raises(CborError):
        cbor.loads(b"\x81" * 10_000 + b"\x00", max_bytes=20_000)


@given(st.binary(max_size=256))
def test_loads_random_bytes_only_raise_cbor_error(data: bytes) -> None:
    # Any exception other than CborError fails the test; a value that decodes must be a plain CBOR value.
    with contextlib.suppress(CborError):
        assert not isinstance(cbor.loads(data), tuple)


def test_sign1_round_trip_and_rejections() -> None:
    key = crypto.generate_private_key()
    kid = crypto.key_id(key)
    keys = {kid: key.public_key()}
    msg = crypto.sign1(b"payload", key, kid=kid)
    assert cbor2.loads(msg).tag == crypto.COSE_SIGN1_TAG
    assert crypto.verify_sign1(msg, keys).payload == b"payload"

    other = crypto.generate_private_key()
    with pytest.raises(SignatureError) as err:
        crypto.verify_sign1(crypto.sign1(b"payload", other, kid=kid), keys)
    assert err.value.code == "bad_signature"
    with pytest.raises(SignatureError) as err:
        crypto.verify_sign1(crypto.sign1(b"payload", other, kid=crypto.key_id(other)), keys)
    assert err.value.code == "unknown_kid"
    with pytest.raises(SignatureError) as err:
        crypto.verify_sign1(msg, keys, external_aad=b"other context")
    assert err.value.code == "bad_signature"


def test_sign1_accepts_legacy_eddsa_alg_but_not_others() -> None:
    key = crypto.generate_private_key()
    kid = crypto.key_id(key)
    keys = {kid: key.public_key()}
    legacy = crypto.sign1(b"p", key, kid=kid, extra_protected={crypto.HDR_ALG: crypto.ALG_EDDSA})
    assert crypto.verify_sign1(legacy, keys).alg == crypto.ALG_EDDSA
    es256 = crypto.sign1(b"p", key, kid=kid, extra_protected={crypto.HDR_ALG: -7})
    with pytest.raises(SignatureError) as err:
        crypto.verify_sign1(es256, keys)
    assert err.value.code == "malformed"


@given(st.data())
def test_mutated_sign1_never_verifies_and_only_raises_protocol_errors(data: st.DataObject) -> None:
    key = crypto.private_key_from_raw(bytes(range(32)))
    kid = crypto.key_id(key)
    msg = bytearray(crypto.sign1(b"hello world", key, kid=kid))
    pos = data.draw(st.integers(0, len(msg) - 1))
    msg[pos] ^= data.draw(st.integers(1, 255))
    with pytest.raises(ProtocolError):
        crypto.verify_sign1(bytes(msg), {kid: key.public_key()})


def test_cose_key_round_trip_and_bad_keys() -> None:
    key = crypto.generate_private_key()
    ck = crypto.cose_key(key)
    assert crypto.public_raw(crypto.public_key_from_cose(ck)) == crypto.public_raw(key)
    with pytest.raises(ProtocolError):
        crypto.public_key_from_cose({1: 2, -1: 1, -2: b"\x00" * 32})
    with pytest.raises(ProtocolError):
        crypto.public_key_from_cose({1: 1, -1: 6, -2: b"short"})
    with pytest.raises(ProtocolError):
        crypto.public_key_from_cose([1, 2])
