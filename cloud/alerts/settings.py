"""Alert rules' thresholds and where notifications go."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from safegrid.config import StrictModel


class WebhookSettings(StrictModel):
    url: str = Field(pattern=r"^https?://", description="receives each alert event as a JSON POST")
    secret_file: Path | None = Field(None, description="HMAC-SHA256 key: the body's MAC goes in "
                                                       "X-SafeGrid-Signature (unsigned without one)")
    timeout_s: float = Field(5.0, gt=0, le=60)


class AlertSettings(StrictModel):
    gateway_offline_after_s: int = Field(300, ge=10, description="silence after which a gateway is offline")
    session_gas_silence_s: int = Field(120, ge=10, description="an open session with no gas reading for this "
                                                               "long raises an alert")
    rules_interval_s: float = Field(30.0, gt=0, description="how often the rules worker evaluates the periodic "
                                                            "rules and delivers pending notifications")
    worker_in_serve: bool = Field(True, description="`safegrid-cloud serve` runs the rules and notification worker "
                                                    "beside the API (false: run `safegrid-cloud rules-worker`)")
    lease_s: float = Field(90.0, ge=5, description="a rules worker that stopped renewing its lease is replaced by "
                                                   "another after this long (at least twice rules_interval_s)")
    refused_unlocks: int = Field(3, ge=1, description="this many refused unlocks at one padlock ...")
    refused_unlocks_window_s: int = Field(600, ge=10, description="... within this many seconds raise an alert")
    mqtt_topic_prefix: str = Field("safegrid/v1/alerts", pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$",
                                   description="alert events go to PREFIX/{district_id}/{enterprise_id}")
    mqtt_notify: bool = Field(False, description="also publish alert events on the broker of [ingest.mqtt] (the "
                                                 "rules worker connects with that section's identity)")
    webhooks: list[WebhookSettings] = Field(default_factory=list)
    max_delivery_attempts: int = Field(10, ge=1)
