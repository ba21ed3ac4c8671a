"""Cut a batch from the outbox's oldest pending rows: at most so many records and so many bytes.

Pure: stored rows come in, an encoded :class:`Batch` comes out. The bodies were validated with ``make_record``
when they were stored, so they are spliced into the envelope as stored, never parsed again (``encode_stored``).
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.outbox import StoredRow
from edge.uplink.base import Batch
from protocols.uplink import encode_stored

# Bytes of one record's JSON besides its body: {"seq":…,"kind":"…","at_ms":…,"seq_to":…,"body":} and a comma.
RECORD_OVERHEAD = 96
ENVELOPE_OVERHEAD = 128


def build_batch(gateway: str, epoch: int, sent_at_ms: int, rows: Sequence[StoredRow], *, max_records: int,
                max_bytes: int, compress: bool = False) -> Batch | None:
    """The longest prefix of ``rows`` within ``max_records`` and about ``max_bytes`` of JSON (never fewer than
    one record), encoded; None when ``rows`` is empty."""
    size = ENVELOPE_OVERHEAD
    count = 0
    for row in rows[:max_records]:
        size += len(row[4]) + RECORD_OVERHEAD
        if count and size > max_bytes:
            break
        count += 1
    if not count:
        return None
    taken = rows[:count]
    payload = encode_stored(gateway, epoch, sent_at_ms, taken, compress=compress)
    return Batch(epoch=epoch, first_seq=taken[0][0], last_seq=taken[-1][1], count=count, payload=payload,
                 compressed=compress)
