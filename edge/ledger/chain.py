"""The ledger's hash chain, pure: canonical entry bytes, linking, and a verifier that says where a chain breaks.

Each entry is ``seq`` (1, 2, 3 … with no gap), ``at_ms`` (gateway wall clock, unix ms), ``kind`` and a JSON
object ``body``. Its canonical bytes are the UTF-8 JSON of ``{"at_ms", "body", "kind", "seq"}`` with keys sorted
at every level, no whitespace, no NaN or infinity; its hash is ``SHA-256(prev_hash || canonical bytes)`` where
``prev_hash`` is the previous entry's hash (32 zero bytes before the first). The head ``(seq, hash)`` of the last
entry commits to everything before it: once the cloud holds a head, no entry up to it can be altered, removed,
inserted or moved without the verifier noticing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from edge.errors import EdgeError

HASH_LEN = 32
GENESIS_HASH = bytes(HASH_LEN)
MAX_KIND_LEN = 64

#: The kinds the daemon writes (others are accepted: the chain does not interpret bodies).
GAS_SUMMARY = "gas_summary"
LOCK_AUDIT = "lock_audit"
PERMIT_DECISION = "permit_decision"
ALARM = "alarm"


class LedgerError(EdgeError):
    """An entry that cannot be chained or parsed, or a signed head that does not verify."""

    default_code = "ledger_error"


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, finite numbers only."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise LedgerError(f"not representable as canonical JSON: {exc}", code="malformed", field="body") from None


@dataclass(frozen=True, slots=True)
class Head:
    """The last entry's position and hash; seq 0 with the genesis hash is the empty ledger."""

    seq: int
    hash: bytes

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash.hex()}


GENESIS = Head(0, GENESIS_HASH)


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at_ms: int
    kind: str
    body: dict[str, Any]
    prev_hash: bytes
    hash: bytes

    def canonical(self) -> bytes:
        return canonical_bytes(self.seq, self.at_ms, self.kind, self.body)

    @property
    def head(self) -> Head:
        return Head(self.seq, self.hash)

    def to_export(self) -> dict[str, Any]:
        """The exchange form: plain JSON, hashes as lowercase hex."""
        return {"seq": self.seq, "at_ms": self.at_ms, "kind": self.kind, "body": self.body,
                "prev_hash": self.prev_hash.hex(), "hash": self.hash.hex()}


def canonical_bytes(seq: int, at_ms: int, kind: str, body: Mapping[str, Any]) -> bytes:
    return canonical_json({"seq": seq, "at_ms": at_ms, "kind": kind, "body": body})


def entry_hash(prev_hash: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(prev_hash + canonical).digest()


def _check_kind(kind: object) -> str:
    if not isinstance(kind, str) or not 0 < len(kind) <= MAX_KIND_LEN:
        raise LedgerError(f"kind must be a string of 1..{MAX_KIND_LEN} characters", code="malformed", field="kind")
    return kind


def chain_next(head: Head, at_ms: int, kind: str, body: Mapping[str, Any]) -> Entry:
    """The entry that follows ``head``. The body is stored as its canonical JSON reads back, so what is hashed
    is exactly what a reader gets."""
    if not isinstance(at_ms, int) or isinstance(at_ms, bool) or at_ms < 0:
        raise LedgerError("at_ms must be a non-negative integer", code="malformed", field="at_ms")
    if not isinstance(body, Mapping):
        raise LedgerError("body must be a JSON object", code="malformed", field="body")
    kind = _check_kind(kind)
    normal = json.loads(canonical_json(dict(body)))
    seq = head.seq + 1
    return Entry(seq, at_ms, kind, normal, head.hash, entry_hash(head.hash, canonical_bytes(seq, at_ms, kind, normal)))


def _int(row: Mapping[str, Any], key: str, minimum: int) -> int:
    value = row.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise LedgerError(f"{key} must be an integer ≥ {minimum}", code="malformed", field=key)
    return value


def _hash(row: Mapping[str, Any], key: str) -> bytes:
    value = row.get(key)
    if isinstance(value, bytes) and len(value) == HASH_LEN:
        return value
    if isinstance(value, str) and len(value) == 2 * HASH_LEN:
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    raise LedgerError(f"{key} must be {HASH_LEN} bytes (hex)", code="malformed", field=key)


def parse_export(row: Mapping[str, Any]) -> Entry:
    """An exported entry (hashes hex or raw), type-checked; its hash is NOT checked here (the verifier does)."""
    if not isinstance(row, Mapping):
        raise LedgerError("an entry must be an object", code="malformed")
    body = row.get("body")
    if not isinstance(body, dict) or not all(isinstance(k, str) for k in body):
        raise LedgerError("body must be a JSON object", code="malformed", field="body")
    return Entry(_int(row, "seq", 1), _int(row, "at_ms", 0), _check_kind(row.get("kind")), body,
                 _hash(row, "prev_hash"), _hash(row, "hash"))


@dataclass(frozen=True, slots=True)
class Fault:
    """Where the chain breaks: ``index`` in the checked sequence, the ``seq`` found there (if readable)."""

    code: str  # malformed, unexpected_seq, broken_link, altered, head_mismatch, truncated
    index: int
    seq: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    checked: int  # entries that passed before the fault (all of them when ok)
    head: Head  # the last good entry (or the start when none passed)
    fault: Fault | None = None


class ChainVerifier:
    """Checks entries one by one (so a large ledger streams through); stops at the first fault.

    ``start`` is the head the checked entries continue (the genesis, or the anchor left by pruning).
    ``known_heads`` are heads reported earlier (e.g. signed heads the cloud holds): each must be matched by the
    entry of the same seq, and the entries must reach the highest of them, or the chain was truncated.
    """

    def __init__(self, start: Head = GENESIS, known_heads: Iterable[Head] = ()) -> None:
        self.start = start
        self._head = start
        self._index = 0
        self._known = {h.seq: h.hash for h in known_heads}
        self.fault: Fault | None = None

    def feed(self, item: Entry | Mapping[str, Any]) -> bool:
        """Check the next entry; False (and :attr:`fault` set) at the first problem."""
        if self.fault is not None:
            return False
        index = self._index
        try:
            entry = item if isinstance(item, Entry) else parse_export(item)
        except LedgerError as exc:
            seq = item.get("seq") if isinstance(item, Mapping) and isinstance(item.get("seq"), int) else None
            return self._fail("malformed", index, seq, f"entry {index} is malformed: {exc}")
        expected = self._head.seq + 1
        if entry.seq > expected:
            return self._fail("unexpected_seq", index, entry.seq,
                              f"expected seq {expected}, found {entry.seq}: entries deleted or moved")
        if entry.seq < expected:
            return self._fail("unexpected_seq", index, entry.seq,
                              f"expected seq {expected}, found {entry.seq}: an entry inserted, repeated or moved")
        try:
            recomputed = entry_hash(entry.prev_hash, entry.canonical())
        except LedgerError as exc:
            return self._fail("malformed", index, entry.seq, f"seq {entry.seq} cannot be hashed: {exc}")
        if recomputed != entry.hash:
            return self._fail("altered", index, entry.seq, f"seq {entry.seq} does not match its hash: altered")
        if entry.prev_hash != self._head.hash:
            return self._fail("broken_link", index, entry.seq,
                              f"seq {entry.seq} does not link to seq {self._head.seq}: one of them was replaced")
        known = self._known.get(entry.seq)
        if known is not None and known != entry.hash:
            return self._fail("head_mismatch", index, entry.seq,
                              f"seq {entry.seq} differs from the head reported earlier: rewritten since")
        self._head = entry.head
        self._index += 1
        return True

    def _fail(self, code: str, index: int, seq: int | None, message: str) -> bool:
        self.fault = Fault(code, index, seq, message)
        return False

    def finish(self) -> Verification:
        if self.fault is None:
            beyond = [seq for seq in self._known if seq > self._head.seq]
            if beyond:
                self.fault = Fault("truncated", self._index, None,
                                   f"the chain ends at seq {self._head.seq} but seq {max(beyond)} was reported")
        return Verification(self.fault is None, self._index, self._head, self.fault)


def verify_chain(entries: Iterable[Entry | Mapping[str, Any]], *, start: Head = GENESIS,
                 known_heads: Iterable[Head] = ()) -> Verification:
    """Verify exported (or parsed) entries in order; the result says whether and where the chain breaks."""
    verifier = ChainVerifier(start, known_heads)
    for item in entries:
        if not verifier.feed(item):
            break
    return verifier.finish()
