"""The pure offline-sync rule: the content hash ignores key order and nothing else; the decision follows it."""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from cloud.patrols.sync import Outcome, content_hash, decide

values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                  max_size=3), max_leaves=10)
bodies = st.dictionaries(st.text(min_size=1, max_size=6), values, min_size=1, max_size=6)


@given(bodies)
def test_key_order_does_not_change_the_hash(body: dict[str, Any]) -> None:
    assert content_hash(dict(reversed(list(body.items())))) == content_hash(body)
    assert decide(content_hash(body), content_hash(dict(reversed(list(body.items()))))) is Outcome.SAME


@given(bodies, st.text(min_size=1, max_size=6), values)
def test_any_change_is_a_conflict(body: dict[str, Any], key: str, value: Any) -> None:
    assume(key not in body)
    assert decide(content_hash(body), content_hash({**body, key: value})) is Outcome.CONFLICT
    first = next(iter(body))
    assert decide(content_hash(body), content_hash({**body, first: [body[first]]})) is Outcome.CONFLICT
    assert decide(None, content_hash(body)) is Outcome.CREATE
