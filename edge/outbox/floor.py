"""The outbox's seq floor: a small file beside ``outbox.db`` that reserves seqs ahead of their use.

The cloud stores records by (gateway, epoch, seq) and ignores a seq it already holds, so an outbox that is lost
(a corrupt ``outbox.db`` moved aside) must never be replaced by one that numbers from 1 again: its first records —
the very alarm saying the outbox was lost — would be dropped as duplicates. The floor file says, for the outbox's
epoch, a seq that nothing has reached yet (``reserved``), and where each outbox of the epoch began (``starts``).
The outbox moves ``reserved`` a block ahead *before* it commits a row at or beyond it, so at most one small
atomic write per :data:`BLOCK` records, and every seq ever committed — hence every seq the cloud can hold — is
below ``reserved``.

A new outbox of the same epoch continues at ``reserved``; the seqs of the lost one (unknown which the cloud got)
are accounted for by summary records covering each lost outbox's range (:meth:`SeqFloor.lost_ranges`): the
cloud's watermark moves past them instead of waiting for ever on a gap. Each range starts at an outbox's first
seq, which held an event (``gateway_started``), never the first seq of a compaction summary, so its summary never
collides with one the cloud stored before.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from edge.outbox.errors import OutboxError
from safegrid.files import write_private_file

VERSION = 1
BLOCK = 4096  # seqs reserved per write: a few writes an hour on a busy gateway
MAX_STARTS = 64  # outbox generations remembered; older ranges were acknowledged long ago


class FloorError(OutboxError, ValueError):
    """The floor file cannot be read (not JSON, wrong shape)."""

    default_code = "bad_floor"


@dataclass(slots=True)
class SeqFloor:
    path: Path
    epoch: int
    reserved: int  # no seq of this epoch has reached it
    starts: list[int] = field(default_factory=lambda: [1])  # the first seq of each outbox of this epoch
    writes: int = 0

    @classmethod
    def load(cls, path: Path) -> SeqFloor | None:
        """The floor stored at ``path``; None when there is none; :class:`FloorError` when it is unreadable."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(raw)
            epoch, reserved, starts = data["epoch"], data["reserved"], data["starts"]
            ok = (data.get("version") == VERSION and all(type(v) is int for v in (epoch, reserved))
                  and isinstance(starts, list) and starts and all(type(s) is int and s >= 1 for s in starts)
                  and starts == sorted(starts) and reserved >= starts[-1] and epoch >= 1)
        except (ValueError, TypeError, KeyError) as exc:
            raise FloorError(f"{path}: {exc}") from None
        if not ok:
            raise FloorError(f"{path}: not a seq floor of version {VERSION}")
        return cls(path, epoch, reserved, list(starts))

    def save(self) -> None:
        data = {"version": VERSION, "epoch": self.epoch, "reserved": self.reserved, "starts": self.starts}
        write_private_file(self.path, json.dumps(data, separators=(",", ":")).encode())
        self.writes += 1

    def reserve(self, upto: int) -> None:
        """Make every seq below ``upto`` usable (written before any of them is committed)."""
        if upto > self.reserved:
            self.reserved = upto
            self.save()

    def lost_ranges(self) -> list[tuple[int, int]]:
        """The seq range of each outbox of the epoch so far: what a summary must account for once they are lost."""
        bounds = [*self.starts, self.reserved]
        return [(a, b - 1) for a, b in itertools.pairwise(bounds) if b > a]

    def begin_outbox(self) -> int:
        """A new outbox of this epoch starts at ``reserved``: remember where, reserve a block, return the start."""
        start = self.reserved
        self.starts = [*self.starts, start][-MAX_STARTS:]
        self.reserved = start + BLOCK
        self.save()
        return start
