"""GATT identity of a SafeGrid padlock: service and characteristic UUIDs, sizes and the connection policy.

A lock exposes one primary service with two characteristics: the central writes fragmented requests to
``WRITE_CHARACTERISTIC_UUID`` and the lock answers, and reports events, by notifications on
``NOTIFY_CHARACTERISTIC_UUID``. The policy constants are part of the protocol: a gateway and a phone
share a lock that accepts one central at a time, so both sides must keep links short.
"""

from __future__ import annotations

from uuid import UUID

PROTOCOL_VERSION = 1

# SafeGrid base UUID 5afeXXXX-5a6d-4c0b-9e1f-3c7a2b8d1e40: the 16 bits XXXX name the attribute.
_BASE = "5afe{:04x}-5a6d-4c0b-9e1f-3c7a2b8d1e40"
SERVICE_UUID = UUID(_BASE.format(0x0001))
WRITE_CHARACTERISTIC_UUID = UUID(_BASE.format(0x0002))  # write / write without response, central → lock
NOTIFY_CHARACTERISTIC_UUID = UUID(_BASE.format(0x0003))  # notify, lock → central

#: Bluetooth SIG company id in the manufacturer-specific AD. 0xFFFF is the SIG's id for tests before an id
#: is assigned; a product ships with the vendor's assigned id (the 2-byte magic still marks SafeGrid data).
COMPANY_ID = 0xFFFF
ADVERT_MAGIC = b"SG"

# Sizes (bytes).
LOCK_ID_LEN = 8
NONCE_LEN = 16
ID_LEN = 16  # permit, enterprise, space and worker ids
HASH_LEN = 32
DEFAULT_ATT_MTU = 23  # Bluetooth Core default: 20-byte writes and notifications
PREFERRED_ATT_MTU = 247  # what both sides request in the MTU exchange
MAX_ATT_MTU = 517
ATT_HEADER_LEN = 3  # opcode + handle in a write or notification PDU
MAX_MESSAGE_BYTES = 4096  # the largest reassembled message either side accepts

# Connection policy (seconds unless named otherwise).
MAX_CENTRALS = 1  # the lock accepts one link; while connected it advertises non-connectable or not at all
LOCK_IDLE_LINK_TIMEOUT_S = 15  # the lock drops a link with no complete request for this long
LOCK_MAX_LINK_S = 120  # the lock drops any link after this long, so no central can hold it
GATEWAY_MAX_HOLD_S = 8  # the gateway disconnects after at most this long, finished or not
GATEWAY_POLL_INTERVAL_S = 900  # the gateway also pulls on this schedule when the event counter did not move
GATEWAY_RECONNECT_GAP_S = 5  # after disconnecting, the gateway waits this long before connecting again
CHALLENGE_TTL_S = 30  # a challenge answers one request within this long, then is void

# Junk (requests that prove nothing, results.UNPROVEN_RESULTS) costs the sender, never the holder: the lock
# drops a link at its JUNK_PER_LINK-th junk request, and logs an "abuse" event when ABUSE_THRESHOLD junk
# requests arrive within one ABUSE_WINDOW_S window (then at 10x, 100x that count: the log grows by a few
# entries per window however much junk comes, instead of one unlock_refused entry per request).
JUNK_PER_LINK = 3
ABUSE_WINDOW_S = 300
ABUSE_THRESHOLD = 10

#: A gas attestation is good for at most this long after the measurement (DESIGN: "within the last 30 minutes").
MAX_ATTESTATION_AGE_S = 30 * 60


def mtu_from_max_write(max_write_without_response_size: int | None) -> int:
    """The ATT MTU agreed on a link, from the largest write without response a central's stack reports
    (BlueZ through bleak: payload + the 3-byte header), clamped to the protocol's range; unknown → the default."""
    if not max_write_without_response_size:
        return DEFAULT_ATT_MTU
    return max(DEFAULT_ATT_MTU, min(MAX_ATT_MTU, max_write_without_response_size + ATT_HEADER_LEN))
