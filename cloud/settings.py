"""The cloud service's settings: a pydantic model read from TOML, with the database URL overridable by environment.

``SAFEGRID_DATABASE_URL`` wins over the file so a deployment can keep credentials out of the config file.
Without any URL the database is a SQLite file inside ``data_dir``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field

from cloud.alerts.settings import AlertSettings
from cloud.downlink.settings import DownlinkSettings
from cloud.ingest.settings import IngestSettings
from cloud.telemetry.settings import TelemetrySettings
from safegrid.config import StrictModel, load_config

DATABASE_URL_ENV = "SAFEGRID_DATABASE_URL"
CONFIG_PATH_ENV = "SAFEGRID_CLOUD_CONFIG"
SQLITE_FILENAME = "safegrid-cloud.db"


class DatabaseSettings(StrictModel):
    url: str | None = Field(None, description="sqlite:///FILE or postgresql+psycopg://USER@HOST/DB "
                                              "(default: a file in data_dir)")
    migrate_on_start: bool = Field(False, description="apply pending migrations when the service starts")
    busy_timeout_ms: int = Field(5000, ge=0, description="SQLite: how long a writer waits for the lock")
    pool_size: int = Field(10, ge=1, le=100)


class ApiTlsSettings(StrictModel):
    """HTTPS served by ``safegrid-cloud serve`` itself; with ``client_ca_file`` gateways may show a certificate."""

    cert_file: Path = Field(description="the server's certificate (chain), PEM")
    key_file: Path = Field(description="its private key, PEM, unencrypted")
    client_ca_file: Path | None = Field(None, description="the device CA's certificate, PEM: client certificates "
                                                          "are asked for (optional) and verified against it")


class ApiSettings(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    max_body_bytes: int = Field(1_048_576, ge=1024, description="largest request body accepted (413 above)")
    max_import_bytes: int = Field(33_554_432, ge=1024, description="largest bulk-import file accepted")
    max_import_rows: int = Field(200_000, ge=1)
    tls: ApiTlsSettings | None = Field(None, description="serve HTTPS (default: plain HTTP)")


class AuthSettings(StrictModel):
    token_ttl_seconds: int = Field(12 * 3600, ge=60, le=30 * 86400)
    login_max_failures: int = Field(5, ge=1, description="failed logins per username and client within the window")
    login_window_seconds: int = Field(900, ge=1)
    # argon2id cost (RFC 9106 second recommended option by default); lower only to speed up tests.
    argon2_memory_kib: int = Field(65_536, ge=1024)
    argon2_time_cost: int = Field(3, ge=1)
    argon2_parallelism: int = Field(4, ge=1, le=64)


class CloudSettings(StrictModel):
    data_dir: Path = Field(Path("data"), description="where the SQLite database lives when no URL is set")
    database: DatabaseSettings = DatabaseSettings()
    api: ApiSettings = ApiSettings()
    auth: AuthSettings = AuthSettings()
    ingest: IngestSettings = IngestSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    alerts: AlertSettings = AlertSettings()
    downlink: DownlinkSettings = DownlinkSettings()

    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{self.data_dir / SQLITE_FILENAME}"


def load_settings(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> CloudSettings:
    """Read ``path`` (defaults when ``None``), then apply ``SAFEGRID_DATABASE_URL`` from ``environ``."""
    env = os.environ if environ is None else environ
    settings = load_config(path, CloudSettings) if path is not None else CloudSettings()
    url = env.get(DATABASE_URL_ENV)
    if url:
        settings = settings.model_copy(update={"database": settings.database.model_copy(update={"url": url})})
    return settings
