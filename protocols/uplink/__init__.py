"""The uplink: a versioned envelope carrying a batch of records keyed by (gateway, epoch, seq), and the ack.

``records`` holds the record kinds, ``envelope`` the batch, ack and status messages and their bytes
(JSON, optionally gzip). Signed downlink commands are in ``protocols.commands``, MQTT topics in
``protocols.topics``; the spec is ``protocols/uplink.md``.
"""

from protocols.uplink.envelope import (
    MAX_ENVELOPE_BYTES,
    MAX_RECORDS,
    Ack,
    Envelope,
    Gap,
    Status,
    decode_ack,
    decode_envelope,
    decode_status,
    encode_ack,
    encode_envelope,
    encode_status,
    encode_stored,
    make_ack,
    make_envelope,
    make_status,
)
from protocols.uplink.records import RECORD_KINDS, Record, make_record, summarize_telemetry

__all__ = [
    "MAX_ENVELOPE_BYTES",
    "MAX_RECORDS",
    "RECORD_KINDS",
    "Ack",
    "Envelope",
    "Gap",
    "Record",
    "Status",
    "decode_ack",
    "decode_envelope",
    "decode_status",
    "encode_ack",
    "encode_envelope",
    "encode_status",
    "encode_stored",
    "make_ack",
    "make_envelope",
    "make_record",
    "make_status",
    "summarize_telemetry",
]
