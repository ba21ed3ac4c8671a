"""The outbox package's exception root, in a module of its own so the store and the seq floor both derive from it."""

from __future__ import annotations

from edge.errors import EdgeError


class OutboxError(EdgeError):
    """The outbox cannot serve a request (an acknowledgement beyond the last seq, a read on a failed disk, an
    unreadable seq floor)."""

    default_code = "outbox_error"
