"""Test vectors of the uplink envelope, the ack and the signed downlink commands (``vectors/envelope.json``).

The cloud command key is the seeded test key "cloud-command"; "not-the-cloud" signs the forgeries.
Every command vector names the inputs of ``verify_command`` and the outcome: "ok" or an error code.
"""

from __future__ import annotations

from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocols import crypto
from protocols.commands import (
    ACK_CHANNEL,
    COMMAND_AAD,
    DOWN_CHANNEL,
    HDR_CONTENT_TYPE,
    PAYLOAD_CONTENT_TYPE,
    Command,
    make_command,
    sign_command,
)
from protocols.uplink.envelope import encode_ack, encode_envelope, gzip_compress, make_ack, make_envelope, to_json
from protocols.uplink.fields import b64url_encode
from protocols.uplink.records import make_record
from protocols.vectorgen import seeded_bytes, seeded_key

FILENAME = "envelope.json"

GATEWAY = "gw-0001"
OTHER_GATEWAY = "gw-0002"
EPOCH = 3
NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
LAST_COUNTER = 41
TTL_MS = 300_000


def _hex_id(label: str) -> str:
    return seeded_bytes(label, 16).hex()


def example_batch() -> Any:
    """One record of every kind; seqs 101..110, a summary standing for 103..106."""
    space, det, lock = "space-7", "det-7a", _hex_id("lock")
    permit, session = _hex_id("permit"), _hex_id("session")
    t0 = NOW_MS - 60_000

    def reading(o2: float, h2s: float | None) -> dict[str, Any]:
        return {"space_id": space, "detector_id": det, "gases": [
            {"gas": "O2", "value": o2, "unit": "%VOL"},
            {"gas": "LEL", "value": 0.0, "unit": "%LEL"},
            {"gas": "H2S", "value": h2s, "unit": "ppm", "flags": ["alarm1"] if h2s and h2s >= 7 else []},
            {"gas": "CO", "value": 2.0, "unit": "ppm"},
        ]}

    records = [
        make_record(101, "telemetry", t0, reading(20.9, 0.0)),
        make_record(102, "session", t0 + 500, {"session_id": session, "space_id": space, "state": "in_work",
                                               "previous": "tested", "permit_id": permit, "entrants": 2,
                                               "deadline_ms": t0 + 3_600_000}),
        make_record(103, "summary", t0 + 1000, {"count": 4, "from_ms": t0 + 1000, "to_ms": t0 + 4000, "series": [
            {"space_id": space, "detector_id": det, "gas": "H2S", "unit": "ppm", "n": 4, "min": 0.0, "max": 1.5,
             "mean": 0.5}]}, seq_to=106),
        make_record(107, "telemetry", t0 + 5000, reading(20.8, 9.5)),
        make_record(108, "alarm", t0 + 5001, {"alarm_id": _hex_id("alarm"), "state": "raised", "cause": "gas_level1",
                                              "level": 1, "space_id": space, "detector_id": det,
                                              "session_id": session, "gas": "H2S", "value": 9.5, "unit": "ppm"}),
        make_record(109, "event", t0 + 6000, {"type": "entrant_check_out", "space_id": space, "session_id": session,
                                              "data": {"worker_id": _hex_id("worker"), "inside": 1}}),
        make_record(110, "lock_audit", t0 + 7000, {"lock_id": lock, "lock_seq": 57, "event": "opened",
                                                   "lock_time_s": (t0 + 6500) // 1000, "token_id": _hex_id("cti"),
                                                   "entry": b64url_encode(seeded_bytes("audit-entry", 32) * 3),
                                                   "chain_ok": True}),
    ]
    return make_envelope(GATEWAY, EPOCH, NOW_MS, records)


def example_commands() -> list[tuple[str, Command]]:
    base = {"gateway": GATEWAY, "issued_at_ms": NOW_MS - 1000, "expires_at_ms": NOW_MS - 1000 + TTL_MS}
    claims = {"permit_id": _hex_id("permit"), "token_id": _hex_id("cti"), "enterprise_id": "914403001922038216",
              "space_id": "space-7", "lock_ids": [_hex_id("lock")], "worker_id": _hex_id("worker"),
              "not_before_ms": NOW_MS, "not_after_ms": NOW_MS + 4 * 3_600_000, "max_continuous_ms": 3_600_000,
              "entrant_limit": 2, "gas_test_required": True}
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("permit_issued", {"claims": claims, "token": b64url_encode(seeded_bytes("token", 32) * 6)}),
        ("permit_revoked", {"claims": claims, "revoked_at_ms": NOW_MS - 2000, "reason": "work cancelled"}),
        ("revocation_list", {"revocation_list": b64url_encode(seeded_bytes("revocation", 32) * 2)}),
        ("trust_list_update", {"trust_list": b64url_encode(seeded_bytes("trust", 32) * 3)}),
        ("alarm_ack", {"alarm_id": _hex_id("alarm"), "by": "attendant-12", "at_ms": NOW_MS - 1500,
                       "space_id": "space-7"}),
        ("config", {"version": 4, "settings": {"overtime_warning_min": 10}}),
        ("time", {"time_ms": NOW_MS - 1000}),
        ("ack", {"v": 1, "gateway": GATEWAY, "epoch": EPOCH, "watermark": 102, "gaps": [{"first": 103, "last": 106}]}),
    ]
    return [(kind, make_command({**base, "counter": LAST_COUNTER + 1 + i, "kind": kind, "body": body}))
            for i, (kind, body) in enumerate(bodies)]


def _vector(name: str, wire: bytes, expect: str, *, now_ms: int | None = NOW_MS, channel: str = DOWN_CHANNEL,
            command: Command | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "wire": wire.decode(), "gateway": GATEWAY, "channel": channel,
                           "last_counter": LAST_COUNTER, "now_ms": now_ms, "expect": expect}
    if command is not None:
        out["command"] = command.model_dump(mode="json", exclude_defaults=True)
    return out


def command_vectors() -> list[dict[str, Any]]:
    cloud, forger = seeded_key("cloud-command"), seeded_key("not-the-cloud")
    kid = crypto.key_id(cloud)
    cmds = example_commands()
    vectors = []
    for kind, cmd in cmds:
        channel = ACK_CHANNEL if kind == "ack" else DOWN_CHANNEL
        vectors.append(_vector(f"ok_{kind}", sign_command(cmd, cloud, kid=kid), "ok", channel=channel, command=cmd))
    config = dict(cmds)["config"]
    time = dict(cmds)["time"]
    ack = dict(cmds)["ack"]
    echoed = time.model_copy(update={"body": time.body.model_copy(update={"echo": "1234567-0f1e2d3c4b5a6978"})})
    vectors += [
        _vector("ok_time_untrusted_clock", sign_command(time, cloud, kid=kid), "ok", now_ms=None, command=time),
        _vector("ok_time_echo", sign_command(echoed, cloud, kid=kid), "ok", now_ms=None, command=echoed),
        _vector("unknown_kid", sign_command(config, forger, kid=crypto.key_id(forger)), "unknown_kid"),
        _vector("bad_signature_forged", sign_command(config, forger, kid=kid), "bad_signature"),
        _vector("wrong_gateway", sign_command(config.model_copy(update={"gateway": OTHER_GATEWAY}), cloud, kid=kid),
                "wrong_gateway"),
        _vector("wrong_channel_ack_on_down", sign_command(ack, cloud, kid=kid), "wrong_channel"),
        _vector("replayed", sign_command(config.model_copy(update={"counter": LAST_COUNTER}), cloud, kid=kid),
                "replayed"),
        _vector("expired", sign_command(config, cloud, kid=kid), "expired", now_ms=config.expires_at_ms),
        _vector("untrusted_clock", sign_command(config, cloud, kid=kid), "untrusted_clock", now_ms=None),
        _vector("malformed_not_json", b"\x00not json", "malformed"),
        _vector("malformed_signed_payload", _signed_raw(b'{"v":1,"kind":"reboot"}', cloud, kid), "malformed"),
        *profile_vectors(config, cloud, kid),
    ]
    return vectors


def profile_vectors(command: Command, key: Ed25519PrivateKey, kid: bytes) -> list[dict[str, Any]]:
    """Correctly signed COSE_Sign1 that break the profile of uplink spec §5.2: each is ``malformed``, so two
    verifiers written from the spec agree on them (a lax COSE library would accept every one)."""
    payload = to_json(command)
    alg, ct = (crypto.HDR_ALG, crypto.ALG_ED25519), (HDR_CONTENT_TYPE, PAYLOAD_CONTENT_TYPE)
    kid_ = (crypto.HDR_KID, kid)
    return [
        _vector("malformed_kid_unprotected", _sign_headers(payload, key, [alg, ct], unprotected={crypto.HDR_KID: kid}),
                "malformed"),
        _vector("malformed_untagged", _sign_headers(payload, key, [alg, ct, kid_], tagged=False), "malformed"),
        _vector("malformed_header_order", _sign_headers(payload, key, [kid_, alg, ct]), "malformed"),
        _vector("malformed_extra_header", _sign_headers(payload, key, [alg, ct, kid_, (100, "x")]), "malformed"),
    ]


def _sign_headers(payload: bytes, key: Ed25519PrivateKey, protected: list[tuple[int, Any]], *,
                  unprotected: dict[int, Any] | None = None, tagged: bool = True) -> bytes:
    """The wire form of a COSE_Sign1 with the protected header's entries in exactly the order given, correctly
    signed over those bytes."""
    protected_bytes = cbor2.dumps(dict(protected))  # not canonical: keeps the order given
    to_sign = cbor2.dumps(["Signature1", protected_bytes, COMMAND_AAD, payload])
    sign1 = [protected_bytes, unprotected or {}, payload, key.sign(to_sign)]
    cose = cbor2.dumps(cbor2.CBORTag(crypto.COSE_SIGN1_TAG, sign1) if tagged else sign1)
    return _wire(cose)


def _signed_raw(payload: bytes, key: Ed25519PrivateKey, kid: bytes) -> bytes:
    """A correctly signed COSE_Sign1 over a payload that is not a valid command."""
    return _wire(crypto.sign1(payload, key, kid=kid, external_aad=COMMAND_AAD,
                              extra_protected={HDR_CONTENT_TYPE: PAYLOAD_CONTENT_TYPE}))


def _wire(cose: bytes) -> bytes:
    return b'{"v":1,"cose":"' + b64url_encode(cose).encode() + b'"}'


def bad_batches() -> list[dict[str, Any]]:
    good = encode_envelope(example_batch())
    unordered = good.replace(b'"seq":107', b'"seq":105', 1)  # inside the summary's range 103..106
    bomb = gzip_compress(b" " * (5 * 1024 * 1024))  # 5 MiB of spaces: more than MAX_ENVELOPE_BYTES once inflated
    return [
        {"name": "seq_inside_summary_range", "hex": unordered.hex(), "expect": "malformed"},
        {"name": "truncated_gzip", "hex": gzip_compress(good)[:-9].hex(), "expect": "malformed"},
        {"name": "decompression_bomb", "hex": bomb.hex(), "expect": "too_large"},
    ]


def build() -> dict[str, Any]:
    cloud = seeded_key("cloud-command")
    batch = example_batch()
    plain = encode_envelope(batch)
    ack = make_ack(GATEWAY, EPOCH, 102, [(103, 106)])
    return {
        "cloud_keys": {crypto.key_id(cloud).hex(): crypto.public_raw(cloud).hex()},
        "gateway": GATEWAY,
        "batch": {
            "envelope": batch.model_dump(mode="json", exclude_defaults=True),
            "plain_hex": plain.hex(),
            "gzip_hex": encode_envelope(batch, compress=True).hex(),
            "first_seq": batch.first_seq,
            "last_seq": batch.last_seq,
        },
        "ack": {"ack": ack.model_dump(mode="json", exclude_defaults=True), "hex": encode_ack(ack).hex()},
        "bad_batches": bad_batches(),
        "commands": command_vectors(),
    }
