"""The InfluxDB 2.x sink (influxdb-client): gas values as points, written synchronously in batches.

Point: measurement ``gas`` (configurable), tags ``enterprise``, ``gateway``, ``space``, ``detector``, ``gas``,
``unit``; fields ``value`` (float; absent when the detector gave none, then ``no_value=true``), ``flags``
(comma-separated, when any) and ``seq``; time in milliseconds (the gateway's clock). A point's identity is
its measurement, tags and time, so writing it again after a failed commit replaces it with itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS, WriteApi
from sqlalchemy.orm import Session

from cloud.errors import CloudError
from cloud.telemetry.settings import INFLUX_TOKEN_ENV, InfluxSettings
from cloud.telemetry.sink import GasValue, Origin


class TelemetryUnavailable(CloudError):
    """The telemetry store refused or did not answer: the batch is not stored (the gateway retries)."""

    status = 503
    default_code = "telemetry_unavailable"


def point(measurement: str, origin: Origin, value: GasValue) -> Point:
    p = (Point(measurement).tag("enterprise", str(origin.enterprise_id)).tag("gateway", origin.gateway_id)
         .tag("space", value.space_key).tag("detector", value.detector_id).tag("gas", value.gas)
         .tag("unit", value.unit))
    p = p.field("no_value", True) if value.value is None else p.field("value", float(value.value))
    if value.flags:
        p = p.field("flags", ",".join(value.flags))
    return p.field("seq", value.seq).time(value.at_ms, WritePrecision.MS)


def line_protocol(measurement: str, origin: Origin, values: Sequence[GasValue]) -> list[str]:
    return [point(measurement, origin, v).to_line_protocol() for v in values]


def batches(lines: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(lines), size):
        yield lines[start:start + size]


def read_token(settings: InfluxSettings, environ: dict[str, str] | None = None) -> str:
    """The API token from ``token_file``, else ``$SAFEGRID_INFLUX_TOKEN``; there is no default."""
    env = os.environ if environ is None else environ
    if settings.token_file is not None:
        token = Path(settings.token_file).read_text(encoding="utf-8").strip()
    else:
        token = env.get(INFLUX_TOKEN_ENV, "").strip()
    if not token:
        raise ValueError(f"no InfluxDB token: set telemetry.influx.token_file or ${INFLUX_TOKEN_ENV}")
    return token


class InfluxSink:
    name = "influx"

    def __init__(self, settings: InfluxSettings, *, token: str) -> None:
        self.settings = settings
        self._client = InfluxDBClient(url=settings.url, token=token, org=settings.org, timeout=settings.timeout_ms)
        self._write: WriteApi = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, db: Session, origin: Origin, values: Sequence[GasValue]) -> None:
        lines = line_protocol(self.settings.measurement, origin, values)
        for chunk in batches(lines, self.settings.batch_size):
            try:
                self._write.write(bucket=self.settings.bucket, org=self.settings.org, record=list(chunk),
                                  # WritePrecision.MS is the str "ms", which the library declares as str
                                  write_precision=WritePrecision.MS)  # type: ignore[arg-type]
            except Exception as exc:  # the client raises urllib3 and ApiException errors alike: all mean "not stored"
                raise TelemetryUnavailable(f"InfluxDB write failed: {exc}") from exc

    def close(self) -> None:
        self._write.close()
        self._client.close()
