"""Fragmentation to the ATT MTU and strict reassembly of padlock messages."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.errors import FragmentError, GattError
from protocols.padlock.fragment import Reassembler, fragment, payload_size
from protocols.padlock.gatt import DEFAULT_ATT_MTU, MAX_ATT_MTU, MAX_MESSAGE_BYTES, mtu_from_max_write

MTUS = st.sampled_from([23, 247]) | st.integers(23, 517)


def reassemble(fragments: list[bytes], **kwargs: int) -> bytes | None:
    r = Reassembler(**kwargs)
    out = [r.feed(f) for f in fragments]
    assert all(o is None for o in out[:-1])
    return out[-1]


@given(st.binary(min_size=1, max_size=MAX_MESSAGE_BYTES), MTUS)
def test_messages_up_to_4_kib_round_trip(message: bytes, mtu: int) -> None:
    fragments = fragment(message, mtu)
    assert all(len(f) <= mtu - 3 for f in fragments)
    assert reassemble(fragments, mtu=mtu) == message


def test_fragment_counts_and_headers_at_default_mtu() -> None:
    assert payload_size(23) == 20
    assert fragment(b"x" * 17) == [b"\x80\x00\x11" + b"x" * 17]
    frags = fragment(bytes(range(40)))
    assert [f[0] for f in frags] == [0x80, 0x01, 0x02]
    assert frags[0][1:3] == b"\x00\x28"
    assert [len(f) for f in frags] == [20, 20, 5]
    # 4096 bytes need 1 + ceil((4096 - 17) / 19) = 216 fragments, so the 7-bit index wraps.
    big = fragment(bytes(4096))
    assert len(big) == 216
    assert [f[0] for f in big[126:131]] == [126, 127, 0, 1, 2]


def test_fragment_refuses_empty_oversize_and_bad_mtu() -> None:
    with pytest.raises(FragmentError):
        fragment(b"")
    with pytest.raises(FragmentError) as err:
        fragment(bytes(MAX_MESSAGE_BYTES + 1))
    assert err.value.code == "oversize"
    for mtu in (22, 518):
        with pytest.raises(FragmentError):
            fragment(b"x", mtu)


def _refused(fragments: list[bytes], code: str, **kwargs: int) -> Reassembler:
    r = Reassembler(**kwargs)
    with pytest.raises(FragmentError) as err:
        for f in fragments:
            r.feed(f)
    assert err.value.code == code
    assert isinstance(err.value, GattError)
    return r


def test_reassembly_refuses_oversize() -> None:
    _refused([b"\x80\x10\x01" + b"x" * 17], "oversize")  # announces 4097 bytes
    _refused([b"\x80\x00\x20" + b"x" * 17], "oversize", max_message=16)
    _refused([b"\x80\x00\x30" + b"x" * 30], "oversize", mtu=23)  # fragment longer than 20 bytes


def test_reassembly_refuses_out_of_order() -> None:
    frags = fragment(bytes(100))
    _refused([frags[1]], "out_of_order")  # continuation without a first fragment
    _refused([frags[0], frags[2]], "out_of_order")  # one skipped


def test_reassembly_refuses_duplicates() -> None:
    frags = fragment(bytes(100))
    _refused([frags[0], frags[1], frags[1]], "duplicate")
    _refused([frags[0], frags[0]], "duplicate")


def test_reassembly_refuses_truncated() -> None:
    frags = fragment(bytes(100))
    _refused([frags[0], frags[1], *fragment(b"next")], "truncated")


def test_reassembly_refuses_malformed() -> None:
    _refused([b""], "malformed")
    _refused([b"\x81\x00\x01x"], "malformed")  # a first fragment's index bits must be 0
    _refused([b"\x80\x00"], "malformed")
    _refused([b"\x80\x00\x00"], "malformed")  # zero length
    _refused([b"\x80\x00\x02abc"], "malformed")  # data runs past the length
    _refused([b"\x80\x00\x40" + b"x" * 17, b"\x01"], "malformed")  # continuation without data


def test_after_an_error_the_rest_of_the_broken_message_is_ignored_and_the_next_works() -> None:
    frags = fragment(bytes(range(100)))
    r = _refused([frags[0], frags[2]], "out_of_order")
    assert r.feed(frags[3]) is None  # the broken message's tail: dropped quietly, one error per message
    assert not r.in_progress
    assert reassemble_on(r, fragment(b"hello" * 10)) == b"hello" * 10


def reassemble_on(r: Reassembler, fragments: list[bytes]) -> bytes | None:
    result = None
    for f in fragments:
        result = r.feed(f)
    return result


def test_reset_after_a_dropped_link() -> None:
    r = Reassembler()
    frags = fragment(bytes(60))
    r.feed(frags[0])
    assert r.in_progress
    assert r.reset() is True
    assert r.reset() is False
    assert reassemble_on(r, frags) == bytes(60)


@given(st.lists(st.binary(max_size=30), max_size=40))
def test_random_fragments_only_raise_fragment_error_and_stay_bounded(fragments: list[bytes]) -> None:
    r = Reassembler(max_message=64)
    for f in fragments:
        with contextlib.suppress(FragmentError):
            out = r.feed(f)
            assert out is None or 0 < len(out) <= 64


@given(st.binary(min_size=1, max_size=300), st.data())
def test_mutated_fragment_streams_never_yield_a_wrong_message_silently(message: bytes, data: st.DataObject) -> None:
    frags = fragment(message)
    i = data.draw(st.integers(0, len(frags) - 1))
    mutated = list(frags)
    action = data.draw(st.sampled_from(["drop", "repeat", "swap"]))
    if action == "drop":
        del mutated[i]
    elif action == "repeat":
        mutated.insert(i, frags[i])
    else:
        j = data.draw(st.integers(0, len(frags) - 1))
        mutated[i], mutated[j] = mutated[j], mutated[i]
    r = Reassembler()
    outputs = []
    with contextlib.suppress(FragmentError):
        for f in mutated:
            out = r.feed(f)
            if out is not None:
                outputs.append(out)
    # A stream that differs from the original may deliver nothing, or the message intact — never garbage.
    assert all(o == message for o in outputs)


def test_the_write_size_a_central_reports_gives_the_fragment_mtu() -> None:
    assert mtu_from_max_write(None) == DEFAULT_ATT_MTU == 23
    assert mtu_from_max_write(20) == 23
    assert mtu_from_max_write(244) == 247
    assert mtu_from_max_write(10_000) == MAX_ATT_MTU == 517
