"""Settings of ingestion: the HTTP batch size limit and the MQTT consumer's broker connection."""

from __future__ import annotations

from pydantic import Field

from cloud.broker import MqttSettings
from protocols.uplink import MAX_ENVELOPE_BYTES
from safegrid.config import StrictModel


class IngestSettings(StrictModel):
    max_batch_bytes: int = Field(MAX_ENVELOPE_BYTES, ge=1024, le=MAX_ENVELOPE_BYTES,
                                 description="largest batch accepted over HTTP, also once inflated (413 above)")
    group_max_messages: int = Field(64, ge=1, le=1000,
                                    description="MQTT batches one worker folds into one transaction at most")
    queue_size: int = Field(256, ge=1, description="MQTT batches received but not yet stored, per worker")
    mqtt: MqttSettings = MqttSettings()
