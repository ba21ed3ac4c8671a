"""What both doors do before the ingest path: decode the bytes bound to the sender, and check the sender may
send this epoch. Errors are CloudErrors with the status the HTTP spec gives them (the MQTT door logs them)."""

from __future__ import annotations

from cloud.devices.models import Gateway
from cloud.errors import CloudError, Conflict, Forbidden, InvalidInput, PayloadTooLarge
from cloud.ingest.service import Sender
from protocols.errors import EnvelopeError
from protocols.uplink import Envelope, decode_envelope


def decode_batch(data: bytes, *, gateway_id: str, max_bytes: int) -> Envelope:
    """The envelope in ``data`` (plain or gzip), which must name ``gateway_id``; nothing is stored on failure."""
    try:
        return decode_envelope(data, gateway=gateway_id, max_bytes=max_bytes)
    except EnvelopeError as exc:
        raise batch_error(exc) from None


def batch_error(exc: EnvelopeError) -> CloudError:
    if exc.code == "too_large":
        return PayloadTooLarge(str(exc), code="too_large", field=exc.field)
    if exc.code == "wrong_gateway":
        return Forbidden(str(exc), code="wrong_gateway", field=exc.field)
    return InvalidInput(str(exc), code=exc.code, field=exc.field or "body")


def sender_for(gateway: Gateway, envelope: Envelope) -> Sender:
    """The gateway as the ingest path knows it; an epoch it was never enrolled in is refused (a gateway's epoch
    only grows, and older epochs may still be draining from its outbox)."""
    if envelope.epoch > gateway.epoch:
        raise Conflict(f"gateway {gateway.id} is enrolled in epoch {gateway.epoch}, not {envelope.epoch}",
                       code="unknown_epoch", field="epoch")
    return Sender(gateway_id=gateway.id, enterprise_id=gateway.enterprise_id)
