"""The edge outbox: every record is numbered and stored durably before anything else happens to it,
and deleted only after the cloud acknowledges storing it."""

from edge.outbox.errors import OutboxError
from edge.outbox.store import Outbox, OutboxRecord, StoredRow

__all__ = ["Outbox", "OutboxError", "OutboxRecord", "StoredRow"]
