"""The InfluxDB 2.x sink: the line protocol of gas values, batching into write requests (sent by the real
influxdb-client to a loopback HTTP endpoint that records them), failures refusing the batch, and — where
SAFEGRID_INFLUX_URL names a real InfluxDB 2.x — an integration test against it."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from cloud.telemetry.influx import InfluxSink, TelemetryUnavailable, batches, line_protocol, read_token
from cloud.telemetry.settings import InfluxSettings, TelemetrySettings
from cloud.telemetry.sink import GasValue, Origin

ORIGIN = Origin("gw-1", 2, 42)


def value(seq: int, *, v: float | None = 1.5, flags: list[str] | None = None, space: str = "SP 1,a=b") -> GasValue:
    return GasValue(seq=seq, channel=0, at_ms=1_767_225_600_000 + seq, space_key=space, space_id=7,
                    detector_id="det-1", gas="H2S", value=v, unit="ppm", flags=flags)


def test_line_protocol_escapes_tags_and_carries_the_value_and_time() -> None:
    lines = line_protocol("gas", ORIGIN, [value(1), value(2, v=None, flags=["fault", "warmup"])])
    assert lines[0] == ("gas,detector=det-1,enterprise=42,gas=H2S,gateway=gw-1,space=SP\\ 1\\,a\\=b,unit=ppm "
                        "seq=1i,value=1.5 1767225600001")
    assert lines[1] == ("gas,detector=det-1,enterprise=42,gas=H2S,gateway=gw-1,space=SP\\ 1\\,a\\=b,unit=ppm "
                        'flags="fault,warmup",no_value=true,seq=2i 1767225600002')


def test_batches_split_lines_in_order() -> None:
    lines = [str(i) for i in range(7)]
    assert [list(b) for b in batches(lines, 3)] == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    assert list(batches([], 3)) == []


def test_settings_need_the_influx_section_and_a_token(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="influx"):
        TelemetrySettings(sink="influx")
    settings = InfluxSettings(url="http://127.0.0.1:1", org="o", bucket="b")
    with pytest.raises(ValueError, match="token"):
        read_token(settings, environ={})
    assert read_token(settings, environ={"SAFEGRID_INFLUX_TOKEN": " t0k \n"}) == "t0k"
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    assert read_token(settings.model_copy(update={"token_file": token_file}), environ={}) == "from-file"


class Recorder(BaseHTTPRequestHandler):
    """Answers InfluxDB's write endpoint: records each request, then 204 (or the status the test sets)."""

    requests: list[dict[str, Any]]
    status = 204

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        url = urlparse(self.path)
        self.server.requests.append({"path": url.path, "query": parse_qs(url.query),  # type: ignore[attr-defined]
                                     "auth": self.headers["Authorization"], "body": body.decode()})
        status = self.server.status  # type: ignore[attr-defined]
        self.send_response(status)
        if status >= 400:
            payload = b'{"code":"internal error","message":"disk full"}'
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        else:
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def influx_endpoint() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.requests = []  # type: ignore[attr-defined]
    server.status = 204  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="influx-endpoint")
    thread.start()
    yield server
    server.shutdown()
    thread.join(10)
    server.server_close()


def test_values_are_written_in_batches_of_the_configured_size(influx_endpoint: ThreadingHTTPServer) -> None:
    host, port = influx_endpoint.server_address[:2]
    settings = InfluxSettings(url=f"http://{host}:{port}", org="city", bucket="gas", batch_size=4)
    sink = InfluxSink(settings, token="secret-token")
    try:
        sink.write(None, ORIGIN, [value(s) for s in range(1, 11)])  # type: ignore[arg-type]
    finally:
        sink.close()
    reqs = influx_endpoint.requests  # type: ignore[attr-defined]
    assert [len(r["body"].splitlines()) for r in reqs] == [4, 4, 2]
    assert {r["path"] for r in reqs} == {"/api/v2/write"}
    assert reqs[0]["query"] == {"org": ["city"], "bucket": ["gas"], "precision": ["ms"]}
    assert reqs[0]["auth"] == "Token secret-token"
    sent = [line for r in reqs for line in r["body"].splitlines()]
    assert sent == line_protocol("gas", ORIGIN, [value(s) for s in range(1, 11)])


def test_a_refused_write_refuses_the_batch(influx_endpoint: ThreadingHTTPServer) -> None:
    influx_endpoint.status = 500  # type: ignore[attr-defined]
    host, port = influx_endpoint.server_address[:2]
    sink = InfluxSink(InfluxSettings(url=f"http://{host}:{port}", org="o", bucket="b"), token="t")
    try:
        with pytest.raises(TelemetryUnavailable) as err:
            sink.write(None, ORIGIN, [value(1)])  # type: ignore[arg-type]
    finally:
        sink.close()
    assert err.value.status == 503


INFLUX_URL = os.environ.get("SAFEGRID_INFLUX_URL")


@pytest.mark.skipif(not INFLUX_URL, reason="SAFEGRID_INFLUX_URL is not set: no InfluxDB 2.x server to test against "
                                           "(set it with SAFEGRID_INFLUX_TOKEN, _ORG and _BUCKET to run this)")
def test_against_a_real_influxdb() -> None:
    from influxdb_client import InfluxDBClient

    assert INFLUX_URL is not None
    org, bucket = os.environ.get("SAFEGRID_INFLUX_ORG", "safegrid"), os.environ.get("SAFEGRID_INFLUX_BUCKET", "test")
    settings = InfluxSettings(url=INFLUX_URL, org=org, bucket=bucket, batch_size=3)
    token = read_token(settings)
    origin = Origin(f"gw-{uuid.uuid4().hex[:12]}", 1, 1)
    sink = InfluxSink(settings, token=token)
    try:
        sink.write(None, origin, [value(s, space="SP1") for s in range(1, 8)])  # type: ignore[arg-type]
        sink.write(None, origin, [value(s, space="SP1") for s in range(1, 8)])  # type: ignore[arg-type]  # again
    finally:
        sink.close()
    with InfluxDBClient(url=INFLUX_URL, token=token, org=org) as client:
        tables = client.query_api().query(
            f'from(bucket: "{bucket}") |> range(start: 2025-01-01T00:00:00Z) '
            f'|> filter(fn: (r) => r.gateway == "{origin.gateway_id}" and r._field == "value")')
    points = [rec.get_value() for table in tables for rec in table.records]
    assert points == [1.5] * 7  # written twice, stored once


def test_the_ingest_path_with_the_influx_sink(influx_endpoint: ThreadingHTTPServer, database: Any, world: Any,
                                              tokens: dict[str, str], clock: Any) -> None:
    from cloud.ingest.service import Sender, ingest_batch
    from cloud.telemetry.models import LatestReading
    from tests.cloud.ingest.helpers import batch, reading_count, telemetry

    host, port = influx_endpoint.server_address[:2]
    sink = InfluxSink(InfluxSettings(url=f"http://{host}:{port}", org="o", bucket="b"), token="t")
    try:
        for _ in range(2):  # the second time everything is a duplicate: nothing reaches the sink
            with database.session(write=True) as db:
                ingest_batch(db, sender=Sender("gw-e1", world["E1"]),
                             envelope=batch("gw-e1", [telemetry(1, h2s=1.0), telemetry(2, h2s=2.0)]), sink=sink,
                             now=clock.now)
                db.commit()
    finally:
        sink.close()
    lines = [line for r in influx_endpoint.requests for line in r["body"].splitlines()]  # type: ignore[attr-defined]
    assert len(lines) == 4 and all(",gateway=gw-e1," in line for line in lines)
    assert reading_count(database, "gw-e1") == 0  # not in SQL: the sink is InfluxDB
    with database.session(write=False) as db:
        latest = db.get(LatestReading, ("gw-e1", "GD-SP1", "H2S"))
        assert latest is not None and latest.value == 2.0  # live operations still see the newest value
