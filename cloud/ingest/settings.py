"""Settings of ingestion: the HTTP batch size limit and the MQTT consumer's broker connection."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from protocols.uplink import MAX_ENVELOPE_BYTES
from safegrid.config import StrictModel


class MqttTls(StrictModel):
    ca_file: Path | None = Field(None, description="CA bundle the broker's certificate must chain to")
    cert_file: Path | None = Field(None, description="the ingest worker's client certificate")
    key_file: Path | None = None


class MqttSettings(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password_file: Path | None = Field(None, description="file holding the broker password (none by default)")
    tls: MqttTls | None = None
    keepalive_s: int = Field(30, ge=5, le=3600)
    client_id_prefix: str = Field("safegrid-ingest", pattern=r"^[A-Za-z0-9_-]{1,40}$",
                                  description="each worker appends its host and pid")


class IngestSettings(StrictModel):
    max_batch_bytes: int = Field(MAX_ENVELOPE_BYTES, ge=1024, le=MAX_ENVELOPE_BYTES,
                                 description="largest batch accepted over HTTP, also once inflated (413 above)")
    group_max_messages: int = Field(64, ge=1, le=1000,
                                    description="MQTT batches one worker folds into one transaction at most")
    queue_size: int = Field(256, ge=1, description="MQTT batches received but not yet stored, per worker")
    mqtt: MqttSettings = MqttSettings()
