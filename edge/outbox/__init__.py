"""The edge outbox: every record is numbered and stored durably before anything else happens to it,
and deleted only after the cloud acknowledges storing it."""

from edge.outbox.store import Outbox, OutboxError, OutboxRecord, StoredRow

__all__ = ["Outbox", "OutboxError", "OutboxRecord", "StoredRow"]
