"""The configured telemetry sink, built once per process (the InfluxDB client keeps a connection pool)."""

from __future__ import annotations

from cloud.telemetry.settings import TelemetrySettings
from cloud.telemetry.sink import SqlSink, TelemetrySink


def open_sink(settings: TelemetrySettings) -> TelemetrySink:
    if settings.sink == "influx":
        from cloud.telemetry.influx import InfluxSink, read_token

        assert settings.influx is not None  # the settings model requires the section for this sink
        return InfluxSink(settings.influx, token=read_token(settings.influx))
    return SqlSink()


def close_sink(sink: TelemetrySink) -> None:
    close = getattr(sink, "close", None)
    if callable(close):
        close()
