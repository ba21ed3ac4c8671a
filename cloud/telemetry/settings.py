"""Where gas readings go: the SQL ``readings`` table (default) or an InfluxDB 2.x bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from safegrid.config import StrictModel

INFLUX_TOKEN_ENV = "SAFEGRID_INFLUX_TOKEN"


class InfluxSettings(StrictModel):
    url: str = Field(description="e.g. https://influx.example:8086")
    org: str = Field(min_length=1)
    bucket: str = Field(min_length=1)
    token_file: Path | None = Field(None, description=f"API token file (else ${INFLUX_TOKEN_ENV}); no default")
    batch_size: int = Field(5000, ge=1, le=100_000, description="lines per write request")
    timeout_ms: int = Field(10_000, ge=100)
    measurement: str = Field("gas", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class TelemetrySettings(StrictModel):
    sink: Literal["sql", "influx"] = "sql"
    influx: InfluxSettings | None = None

    @model_validator(mode="after")
    def _influx_configured(self) -> TelemetrySettings:
        if self.sink == "influx" and self.influx is None:
            raise ValueError("sink = 'influx' needs an [telemetry.influx] section")
        return self
