"""Pure parts of the uplink: backoff with jitter, cutting batches, configuration."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.outbox import StoredRow
from edge.uplink import UplinkConfig, build_batch
from edge.uplink.backoff import Backoff
from protocols.uplink import decode_envelope
from safegrid.config import ConfigError, parse_config
from tests.edge.uplink.conftest import GATEWAY, record_body


@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=40))
def test_backoff_doubles_up_to_the_cap_with_jitter_below_each_step(seed: int, steps: int) -> None:
    backoff = Backoff(0.5, 30.0, rng=random.Random(seed))
    for n in range(steps):
        ceiling = min(30.0, 0.5 * 2**n)
        assert ceiling / 2 <= backoff.next_delay() <= ceiling
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def test_jitter_spreads_gateways_apart() -> None:
    delays = {Backoff(1.0, 60.0, rng=random.Random(seed)).next_delay() for seed in range(20)}
    assert len(delays) == 20


def records(n: int, first: int = 1) -> list[StoredRow]:
    out = []
    for i in range(first, first + n):
        kind, body = record_body(i)
        out.append((i, i, kind, 1000 + i, json.dumps(body)))
    return out


def test_a_batch_stops_at_the_record_limit_and_decodes() -> None:
    batch = build_batch(GATEWAY, 2, 5000, records(30), max_records=10, max_bytes=1_000_000)
    assert batch is not None and (batch.first_seq, batch.last_seq, batch.count) == (1, 10, 10)
    envelope = decode_envelope(batch.payload, gateway=GATEWAY)
    assert [r.seq for r in envelope.records] == list(range(1, 11)) and envelope.epoch == 2


def test_a_batch_stops_at_the_byte_limit_but_never_below_one_record() -> None:
    batch = build_batch(GATEWAY, 1, 0, records(100), max_records=100, max_bytes=2048)
    assert batch is not None and 1 < batch.count < 100 and len(batch.payload) <= 2048
    single = build_batch(GATEWAY, 1, 0, records(3), max_records=100, max_bytes=10)
    assert single is not None and single.count == 1


def test_a_summary_batch_ends_at_its_range_and_gzip_is_decoded() -> None:
    summary = (4, 9, "summary", 1004, json.dumps({"count": 6, "from_ms": 1004, "to_ms": 1009}))
    batch = build_batch(GATEWAY, 1, 0, [*records(3), summary, *records(2, first=10)], max_records=5,
                        max_bytes=100_000, compress=True)
    assert batch is not None and batch.compressed and batch.payload[:2] == b"\x1f\x8b"
    assert batch.last_seq == 10
    assert decode_envelope(batch.payload).records[3].last_seq == 9
    assert build_batch(GATEWAY, 1, 0, [], max_records=5, max_bytes=100_000) is None


def test_config_needs_the_chosen_backends_section_and_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"needs its \[uplink\.mqtt\] section"):
        parse_config({"backend": "mqtt"}, UplinkConfig)
    with pytest.raises(ConfigError) as info:
        parse_config({"backend": "http", "http": {"base_url": "https://c", "tls": {"cert_file": "a.pem"}}},
                     UplinkConfig)
    assert info.value.key == "http.tls"
    with pytest.raises(ConfigError) as info:
        parse_config({"backend": "mqtt", "mqtt": {"host": "b"}, "batch": {"max_records": 5000}}, UplinkConfig)
    assert info.value.key == "batch.max_records"
    config = parse_config({"backend": "mqtt", "mqtt": {"host": "broker.example"}}, UplinkConfig)
    assert config.mqtt is not None and config.mqtt.port == 8883 and config.batch.max_records == 500
