"""The offline-sync rule, pure: a record carries a client-made UUID; what the server does with it.

The content hash is over the record's canonical JSON (sorted keys, no whitespace), so the same record sent twice
— a retry after a lost answer — hashes the same, and any change in content does not.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    CREATE = "create"  # a new id: store it
    SAME = "same"  # the id is stored with this content: answer with the stored one, store nothing
    CONFLICT = "conflict"  # the id is stored with other content: keep both, report the conflict


def content_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def decide(stored_hash: str | None, incoming_hash: str) -> Outcome:
    if stored_hash is None:
        return Outcome.CREATE
    return Outcome.SAME if stored_hash == incoming_hash else Outcome.CONFLICT
