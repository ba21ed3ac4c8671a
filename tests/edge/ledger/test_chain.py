"""The pure hash chain: linking, canonical bytes, and a verifier that catches any single mutation and says where."""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from edge.ledger.chain import (
    GENESIS,
    GENESIS_HASH,
    Fault,
    Head,
    LedgerError,
    Verification,
    canonical_bytes,
    chain_next,
    entry_hash,
    verify_chain,
)

KINDS = ["gas_summary", "lock_audit", "permit_decision", "alarm"]

json_scalars = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=8) | st.floats(
    allow_nan=False, allow_infinity=False)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=5), inner, max_size=3), max_leaves=8)
bodies = st.dictionaries(st.text(max_size=6), json_values, max_size=4)
items = st.tuples(st.sampled_from(KINDS), st.integers(0, 2**41), bodies)


def build(specs: list[tuple[str, int, dict[str, Any]]]) -> list[dict[str, Any]]:
    head, out = GENESIS, []
    for kind, at_ms, body in specs:
        entry = chain_next(head, at_ms, kind, body)
        out.append(entry.to_export())
        head = entry.head
    return out


def head_of(exported: list[dict[str, Any]]) -> Head:
    return Head(exported[-1]["seq"], bytes.fromhex(exported[-1]["hash"])) if exported else GENESIS


def test_first_entry_links_to_genesis_and_hash_is_sha256_of_prev_and_canonical_bytes() -> None:
    entry = chain_next(GENESIS, 1_767_225_600_000, "alarm", {"state": "raised", "cause": "gas_level2", "value": 21.5})
    assert entry.seq == 1 and entry.prev_hash == GENESIS_HASH
    canonical = canonical_bytes(1, 1_767_225_600_000, "alarm", {"value": 21.5, "cause": "gas_level2",
                                                                  "state": "raised"})
    assert canonical == (b'{"at_ms":1767225600000,"body":{"cause":"gas_level2","state":"raised","value":21.5},'
                         b'"kind":"alarm","seq":1}')
    assert entry.hash == entry_hash(GENESIS_HASH, canonical)
    second = chain_next(entry.head, 1_767_225_601_000, "lock_audit", {"lock_seq": 7})
    assert second.seq == 2 and second.prev_hash == entry.hash


def test_bodies_that_are_not_canonical_json_are_refused() -> None:
    with pytest.raises(LedgerError, match="canonical JSON"):
        chain_next(GENESIS, 0, "alarm", {"value": float("nan")})
    with pytest.raises(LedgerError, match="canonical JSON"):
        chain_next(GENESIS, 0, "alarm", {"when": object()})
    with pytest.raises(LedgerError, match="kind"):
        chain_next(GENESIS, 0, "", {})
    with pytest.raises(LedgerError, match="at_ms"):
        chain_next(GENESIS, -1, "alarm", {})


@given(st.lists(items, max_size=12))
def test_an_intact_chain_verifies(specs: list[tuple[str, int, dict[str, Any]]]) -> None:
    exported = build(specs)
    result = verify_chain(exported, known_heads=[head_of(exported)])
    assert result.ok and result.fault is None
    assert result.checked == len(exported) and result.head == head_of(exported)


def fault_of(result: Verification) -> Fault:
    assert result.fault is not None, "the chain verified"
    return result.fault


def _flip(hex_hash: str) -> str:
    raw = bytearray(bytes.fromhex(hex_hash))
    raw[0] ^= 1
    return raw.hex()


MUTATIONS = ["body", "kind", "at_ms", "seq", "hash", "prev_hash", "delete", "duplicate", "insert_forged", "swap",
             "move", "drop_field", "retype"]


@given(st.lists(items, min_size=1, max_size=10), st.sampled_from(MUTATIONS), st.data())
def test_any_single_mutation_is_detected_and_located(specs: list[tuple[str, int, dict[str, Any]]], mutation: str,
                                                      data: st.DataObject) -> None:
    original = build(specs)
    chain = copy.deepcopy(original)
    n = len(chain)
    i = data.draw(st.integers(0, n - 1), label="index")
    expect: set[int] | None = {i}  # where the verifier may point, when the mutation has a clear place
    if mutation == "body":
        chain[i]["body"] = {**chain[i]["body"], data.draw(st.text(max_size=4), label="key"): data.draw(
            json_scalars, label="value")}
        assume(chain[i]["body"] != original[i]["body"])
    elif mutation == "kind":
        chain[i]["kind"] = data.draw(st.sampled_from(KINDS))
        assume(chain[i]["kind"] != original[i]["kind"])
    elif mutation == "at_ms":
        chain[i]["at_ms"] += data.draw(st.integers(1, 10**6))
    elif mutation == "seq":
        chain[i]["seq"] += data.draw(st.sampled_from([-1, 1, 5]))
        assume(chain[i]["seq"] >= 1)
    elif mutation in ("hash", "prev_hash"):
        chain[i][mutation] = _flip(chain[i][mutation])
    elif mutation == "delete":
        del chain[i]
        expect = {i} if i < n - 1 else None  # removing the last entry shows only against the reported head
    elif mutation == "duplicate":
        chain.insert(i + 1, copy.deepcopy(chain[i]))
        expect = {i + 1}
    elif mutation == "insert_forged":
        # A well-formed entry hashed onto its predecessor: the reported head (when it has the forgery's seq) or
        # the link of the entry after it tells.
        prev = GENESIS if i == 0 else Head(chain[i - 1]["seq"], bytes.fromhex(chain[i - 1]["hash"]))
        forged = chain_next(prev, chain[i]["at_ms"], "permit_decision", {"decision": "granted"}).to_export()
        chain.insert(i, forged)
        expect = {i, i + 1}
    elif mutation == "swap":
        assume(n >= 2)
        j = data.draw(st.integers(0, n - 1).filter(lambda j: j != i), label="other")
        chain[i], chain[j] = chain[j], chain[i]
        expect = {min(i, j)}
    elif mutation == "move":
        assume(n >= 2)
        j = data.draw(st.integers(0, n - 1).filter(lambda j: j != i), label="to")
        chain.insert(j, chain.pop(i))
        expect = {min(i, j)}
    elif mutation == "drop_field":
        del chain[i][data.draw(st.sampled_from(sorted(chain[i])), label="field")]
    elif mutation == "retype":
        field = data.draw(st.sampled_from(["seq", "at_ms"]), label="field")
        chain[i][field] = str(chain[i][field])
    assume(chain != original)

    result = verify_chain(chain, known_heads=[head_of(original)])
    assert not result.ok, f"{mutation} at {i} went unnoticed"
    assert result.fault is not None
    if expect is not None:
        assert result.fault.index in expect, (mutation, result.fault)
    assert result.checked == result.fault.index  # everything before the fault is vouched for, nothing after


def test_codes_name_what_was_seen() -> None:
    chain = build([("alarm", 1000 + k, {"k": k}) for k in range(5)])
    head = head_of(chain)

    altered = copy.deepcopy(chain)
    altered[2]["body"]["k"] = 99
    assert fault_of(verify_chain(altered)).code == "altered"
    assert fault_of(verify_chain(altered)).seq == 3

    deleted = chain[:2] + chain[3:]
    fault = fault_of(verify_chain(deleted))
    assert (fault.code, fault.index, fault.seq) == ("unexpected_seq", 2, 4)

    rewritten = copy.deepcopy(chain)  # entry 3 replaced by a correctly hashed forgery, entries after kept
    rewritten[2] = chain_next(Head(2, bytes.fromhex(chain[1]["hash"])), 1002, "alarm", {"k": "forged"}).to_export()
    fault = fault_of(verify_chain(rewritten))
    assert (fault.code, fault.seq) == ("broken_link", 4)

    # Rewriting the whole tail consistently is only visible against a head reported earlier.
    tail = build([("alarm", 1000 + k, {"k": k if k < 3 else -k}) for k in range(5)])
    assert verify_chain(tail).ok
    fault = fault_of(verify_chain(tail, known_heads=[head]))
    assert (fault.code, fault.seq) == ("head_mismatch", 5)

    fault = fault_of(verify_chain(chain[:3], known_heads=[head]))
    assert fault.code == "truncated"

    fault = fault_of(verify_chain([*chain[:1], cast(Any, "not an entry")]))
    assert (fault.code, fault.index) == ("malformed", 1)


def test_a_pruned_chain_verifies_from_its_anchor() -> None:
    chain = build([("gas_summary", k, {"k": k}) for k in range(6)])
    anchor = Head(3, bytes.fromhex(chain[2]["hash"]))
    assert verify_chain(chain[3:], start=anchor).ok
    assert fault_of(verify_chain(chain[4:], start=anchor)).code == "unexpected_seq"
    assert fault_of(verify_chain(chain[3:])).code == "unexpected_seq"  # not from the genesis
