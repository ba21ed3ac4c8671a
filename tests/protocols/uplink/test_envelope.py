"""The uplink envelope, records, ack and status: round trips, limits and every way a batch is refused."""

from __future__ import annotations

import json
import tracemalloc
import zlib
from typing import Any

import pytest

from protocols.errors import EnvelopeError
from protocols.uplink import (
    MAX_ENVELOPE_BYTES,
    MAX_RECORDS,
    decode_ack,
    decode_envelope,
    decode_status,
    encode_ack,
    encode_envelope,
    encode_status,
    encode_stored,
    make_ack,
    make_envelope,
    make_record,
    make_status,
    summarize_telemetry,
)
from protocols.uplink.envelope import gzip_compress, unwrap
from protocols.uplink.fields import MAX_BLOB_BYTES, MAX_FREE_FORM_BYTES, b64url_decode, b64url_encode
from protocols.uplink.records import MAX_GASES, MAX_SERIES, RECORD_ADAPTER
from protocols.vectorgen.envelope import example_batch
from tests.protocols.uplink.builders import GATEWAY, NOW_MS, telemetry_body

MAX_BODY_BYTES = 16 * 1024  # the bound the spec promises for any one record body


def _batch(n: int = 3) -> Any:
    return make_envelope(GATEWAY, 1, NOW_MS, [make_record(i, "telemetry", NOW_MS + i, telemetry_body())
                                              for i in range(1, n + 1)])


@pytest.mark.parametrize("compress", [False, True])
def test_batch_round_trips_plain_and_gzip(compress: bool) -> None:
    batch = example_batch()
    data = encode_envelope(batch, compress=compress)
    assert data.startswith(b"\x1f\x8b") is compress
    assert decode_envelope(data) == batch
    assert decode_envelope(data, gateway=batch.gateway) == batch
    assert {r.kind for r in batch.records} == {"telemetry", "alarm", "event", "session", "lock_audit", "summary"}


def test_summary_moves_the_batch_range_and_absent_defaults_round_trip() -> None:
    batch = example_batch()
    assert (batch.first_seq, batch.last_seq) == (101, 110)
    summary = next(r for r in batch.records if r.kind == "summary")
    assert (summary.seq, summary.last_seq) == (103, 106)
    text = encode_envelope(batch)
    assert b'"flags":[]' not in text  # defaults are left out on the wire …
    assert decode_envelope(text).records[0].body.flags == []  # … and come back as the default


def test_empty_batch_is_a_request_for_the_ack() -> None:
    empty = make_envelope(GATEWAY, 2, NOW_MS, [])
    assert decode_envelope(encode_envelope(empty)).records == []
    assert empty.first_seq is None and empty.last_seq is None


@pytest.mark.parametrize("seqs", [[1, 1], [2, 1], [5, 3]])
def test_seqs_must_strictly_increase(seqs: list[int]) -> None:
    records = [make_record(s, "event", NOW_MS, {"type": "x"}) for s in seqs]
    with pytest.raises(EnvelopeError) as err:
        make_envelope(GATEWAY, 1, NOW_MS, records)
    assert err.value.code == "malformed"


def test_a_record_may_not_fall_inside_a_summary_range() -> None:
    summary = make_record(10, "summary", NOW_MS, {"count": 5, "from_ms": 0, "to_ms": 1}, seq_to=14)
    make_envelope(GATEWAY, 1, NOW_MS, [summary, make_record(15, "event", NOW_MS, {"type": "x"})])
    with pytest.raises(EnvelopeError):
        make_envelope(GATEWAY, 1, NOW_MS, [summary, make_record(14, "event", NOW_MS, {"type": "x"})])


def test_summary_range_and_count_are_checked() -> None:
    with pytest.raises(EnvelopeError):
        make_record(10, "summary", NOW_MS, {"count": 1, "from_ms": 0, "to_ms": 1}, seq_to=9)
    with pytest.raises(EnvelopeError):
        make_record(10, "summary", NOW_MS, {"count": 3, "from_ms": 0, "to_ms": 1}, seq_to=11)
    with pytest.raises(EnvelopeError, match="seq_to"):  # only a summary stands for a range
        make_record(10, "telemetry", NOW_MS, telemetry_body(), seq_to=12)


def test_too_many_records_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="records"):
        make_envelope(GATEWAY, 1, NOW_MS, [{"seq": i, "kind": "event", "at_ms": 0, "body": {"type": "x"}}
                                           for i in range(1, MAX_RECORDS + 2)])


def test_wrong_gateway_is_refused_when_the_sender_is_known() -> None:
    with pytest.raises(EnvelopeError) as err:
        decode_envelope(encode_envelope(_batch()), gateway="gw-other")
    assert err.value.code == "wrong_gateway"


@pytest.mark.parametrize("mutate", [
    lambda d: {**d, "v": 2},
    lambda d: {**d, "epoch": "1"},  # strict: no coercion of strings into numbers
    lambda d: {**d, "epoch": 0},
    lambda d: {**d, "gateway": "gw/1"},
    lambda d: {**d, "extra": 1},
    lambda d: {**d, "records": [{**d["records"][0], "kind": "reboot"}]},
    lambda d: {**d, "records": [{**d["records"][0], "seq": 0}]},
    lambda d: {**d, "records": [{**d["records"][0], "seq": 2**63}]},
    lambda d: {**d, "records": [{**d["records"][0], "at_ms": -1}]},
    lambda d: {**d, "records": [{**d["records"][0], "body": {**d["records"][0]["body"], "gases": []}}]},
])
def test_malformed_batches_are_envelope_errors(mutate: Any) -> None:
    doc = json.loads(encode_envelope(_batch(1)))
    with pytest.raises(EnvelopeError) as err:
        decode_envelope(json.dumps(mutate(doc)).encode())
    assert err.value.code == "malformed"


def test_non_finite_numbers_are_refused() -> None:
    text = encode_envelope(_batch(1)).replace(b'"value":20.9', b'"value":NaN')
    assert b"NaN" in text
    with pytest.raises(EnvelopeError):
        decode_envelope(text)
    with pytest.raises(EnvelopeError):
        make_record(1, "event", 0, {"type": "x", "data": {"v": float("inf")}})


def test_oversize_plain_and_decompression_bomb_are_too_large() -> None:
    with pytest.raises(EnvelopeError) as err:
        unwrap(b" " * 2000, max_bytes=1000)
    assert err.value.code == "too_large"
    bomb = gzip_compress(b" " * (MAX_ENVELOPE_BYTES + 1))
    assert len(bomb) < 10_000
    with pytest.raises(EnvelopeError) as err:
        decode_envelope(bomb)
    assert err.value.code == "too_large"


def test_inflating_a_bomb_never_holds_more_than_the_limit() -> None:
    bomb = gzip_compress(bytes(32 * 1024 * 1024))  # 32 MiB of zeros in about 32 KiB
    tracemalloc.start()
    try:
        with pytest.raises(EnvelopeError):
            unwrap(bomb, max_bytes=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, peak


def test_gzip_must_be_one_complete_member() -> None:
    packed = encode_envelope(_batch(), compress=True)
    for bad in (packed[:-4], packed + b"\x00", packed + packed, packed[:10] + b"\xff" + packed[11:]):
        with pytest.raises(EnvelopeError) as err:
            decode_envelope(bad)
        assert err.value.code == "malformed"
    raw_deflate = zlib.compress(encode_envelope(_batch()))  # zlib framing is not accepted: it is parsed as JSON
    with pytest.raises(EnvelopeError):
        decode_envelope(raw_deflate)


def test_base64url_is_strict() -> None:
    assert b64url_decode(b64url_encode(b"\x00\xff\x10")) == b"\x00\xff\x10"
    for bad in ("AP8Q=", "AP+Q", "A", "AB\n", "AB==", "AR"):  # padding, '+', bad length, newline, trailing bits
        with pytest.raises(EnvelopeError):
            b64url_decode(bad)


def test_blob_and_free_form_limits() -> None:
    audit = {"lock_id": "l1", "lock_seq": 1, "event": "opened", "lock_time_s": 1, "chain_ok": True}
    make_record(1, "lock_audit", 0, {**audit, "entry": b64url_encode(b"\x01" * MAX_BLOB_BYTES)})
    with pytest.raises(EnvelopeError):
        make_record(1, "lock_audit", 0, {**audit, "entry": b64url_encode(b"\x01" * (MAX_BLOB_BYTES + 1))})
    with pytest.raises(EnvelopeError, match="bytes of JSON"):
        make_record(1, "event", 0, {"type": "x", "data": {"k": "y" * MAX_FREE_FORM_BYTES}})


def _size(kind: str, body: dict[str, Any], **kw: Any) -> int:
    record = make_record(1, kind, 0, body, **kw)
    return len(record.body.model_dump_json())


def test_largest_bodies_stay_within_the_documented_bound() -> None:
    long_id, code = "i" * 64, "c" * 48
    flags = [code] * 8
    gas = {"gas": "G" * 16, "value": -1.2345678901234567e300, "unit": "u" * 16, "flags": flags}
    sizes = {
        "telemetry": _size("telemetry", {"space_id": long_id, "detector_id": long_id, "gases": [gas] * MAX_GASES,
                                         "flags": flags}),
        "summary": _size("summary", {"count": 2, "from_ms": 2**53 - 1, "to_ms": 2**53 - 1, "series": [
            {"space_id": long_id, "detector_id": long_id, "gas": "G" * 16, "unit": "u" * 16, "n": 2**62,
             "min": -1.2345678901234567e300, "max": -1.2345678901234567e300, "mean": -1.2345678901234567e300}
        ] * MAX_SERIES}, seq_to=2),
        "lock_audit": _size("lock_audit", {"lock_id": long_id, "lock_seq": 2**64 - 1, "event": code,
                                           "lock_time_s": 2**32 - 1, "token_id": long_id,
                                           "entry": b64url_encode(b"\xff" * MAX_BLOB_BYTES), "chain_ok": False}),
        "event": _size("event", {"type": code, **dict.fromkeys(
            ("space_id", "lock_id", "detector_id", "session_id", "permit_id"), long_id),
                                 "data": {"k": "y" * (MAX_FREE_FORM_BYTES - 10)}}),
    }
    assert all(size <= MAX_BODY_BYTES for size in sizes.values()), sizes


def test_summarize_telemetry_aggregates_per_detector_and_gas() -> None:
    rows = [(100, telemetry_body(1.0)), (200, telemetry_body(3.0)), (300, telemetry_body(None)),
            (400, telemetry_body(8.0, detector="det-2"))]
    body = summarize_telemetry(rows)
    assert (body["count"], body["from_ms"], body["to_ms"]) == (4, 100, 400)
    by_key = {(s["detector_id"], s["gas"]): s for s in body["series"]}
    h2s = by_key[("det-1", "H2S")]
    assert (h2s["n"], h2s["min"], h2s["max"], h2s["mean"]) == (2, 1.0, 3.0, 2.0)
    assert by_key[("det-1", "O2")]["n"] == 3 and by_key[("det-2", "H2S")]["mean"] == 8.0
    record = make_record(5, "summary", 100, body, seq_to=8)  # the result is a valid summary body
    assert RECORD_ADAPTER.validate_json(record.model_dump_json()) == record
    with pytest.raises(ValueError, match="nothing"):
        summarize_telemetry([])


def test_ack_round_trip_and_gap_rules() -> None:
    ack = make_ack(GATEWAY, 3, 10, [(11, 12), (15, 15)])
    assert decode_ack(encode_ack(ack)) == ack
    assert decode_ack(gzip_compress(encode_ack(ack))) == ack
    assert make_ack(GATEWAY, 3, 0).gaps == []
    for gaps in ([(12, 13)], [(11, 12), (13, 14)], [(11, 12), (12, 14)], [(11, 10)], [(15, 16), (11, 12)]):
        with pytest.raises(EnvelopeError):
            make_ack(GATEWAY, 3, 10, gaps)
    with pytest.raises(EnvelopeError):
        make_ack(GATEWAY, 3, -1)


def test_status_round_trip_and_last_will() -> None:
    online = make_status(GATEWAY, online=True, at_ms=NOW_MS, epoch=3, software="safegrid 0.1.0")
    assert decode_status(encode_status(online)) == online
    will = make_status(GATEWAY, online=False)
    assert encode_status(will) == b'{"v":1,"gateway":"gw-0001","online":false}'
    with pytest.raises(EnvelopeError):
        decode_status(b'{"v":1,"gateway":"gw-0001","online":"no"}')


def test_status_may_say_whether_the_clock_is_trusted() -> None:
    """Optional: absent in older gateways' statuses, which stay valid and encode as before."""
    asking = make_status(GATEWAY, online=True, at_ms=NOW_MS, epoch=3, clock_trusted=False)
    assert decode_status(encode_status(asking)) == asking
    assert b'"clock_trusted":false' in encode_status(asking)
    old = decode_status(b'{"v":1,"gateway":"gw-0001","online":true,"at_ms":1767225600000,"epoch":3}')
    assert old.clock_trusted is None and b"clock_trusted" not in encode_status(old)
    with pytest.raises(EnvelopeError):
        decode_status(b'{"v":1,"gateway":"gw-0001","online":true,"clock_trusted":"no"}')


def test_decoders_refuse_non_bytes() -> None:
    with pytest.raises(EnvelopeError):
        decode_envelope("text")  # type: ignore[arg-type]


def test_encode_stored_rows_decodes_like_the_validated_batch() -> None:
    batch = example_batch()
    rows = [(r.seq, r.last_seq, r.kind, r.at_ms, json.dumps(r.body.model_dump(mode="json"))) for r in batch.records]
    for compress in (False, True):
        assert decode_envelope(encode_stored(GATEWAY, batch.epoch, batch.sent_at_ms, rows, compress=compress)) == batch
    assert decode_envelope(encode_stored(GATEWAY, 1, 0, [])).records == []


@pytest.mark.parametrize(("gateway", "epoch", "rows"), [
    ("gw/1", 1, []),
    (GATEWAY, 0, []),
    (GATEWAY, 1, [(2, 2, "event", 0, "{}"), (2, 2, "event", 0, "{}")]),
    (GATEWAY, 1, [(2, 4, "event", 0, "{}")]),
    (GATEWAY, 1, [(2, 4, "summary", 0, "{}"), (3, 3, "event", 0, "{}")]),
    (GATEWAY, 1, [(2, 2, "reboot", 0, "{}")]),
    (GATEWAY, 1, [(i, i, "event", 0, "{}") for i in range(1, MAX_RECORDS + 2)]),
])
def test_encode_stored_refuses_what_would_be_an_invalid_batch(gateway: str, epoch: int, rows: Any) -> None:
    with pytest.raises(EnvelopeError):
        encode_stored(gateway, epoch, 0, rows)
