"""The cloud service's settings: a pydantic model read from TOML, with the database URL overridable by environment.

``SAFEGRID_DATABASE_URL`` wins over the file so a deployment can keep credentials out of the config file.
Without any URL the database is a SQLite file inside ``data_dir``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from cloud.alerts.settings import AlertSettings
from cloud.downlink.settings import DownlinkSettings
from cloud.hazards.settings import HazardSettings
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


def _proxy_networks(values: list[str]) -> list[str]:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network (CIDR)") from None
    return values


class ApiSettings(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    max_body_bytes: int = Field(1_048_576, ge=1024, description="largest request body accepted (413 above)")
    max_import_bytes: int = Field(33_554_432, ge=1024, description="largest bulk-import file accepted")
    max_import_rows: int = Field(200_000, ge=1)
    tls: ApiTlsSettings | None = Field(None, description="serve HTTPS (default: plain HTTP)")
    trusted_proxies: Annotated[list[str], AfterValidator(_proxy_networks)] = Field(default_factory=list, description=(
        "addresses or networks (CIDR) of the load balancers in front of serve: only a connection from one of these "
        "may name the client in X-Forwarded-For / X-Forwarded-Proto (default: none, the header is ignored)"))


class AuthSettings(StrictModel):
    token_ttl_seconds: int = Field(12 * 3600, ge=60, le=30 * 86400)
    # The login throttle (cloud.auth.service): per account a growing delay, never a lockout; per client address
    # a limit. Counted in the database over login_window_seconds, so it holds across API workers and hosts.
    login_free_failures: int = Field(3, ge=1, description="failed logins of one account before each further "
                                                          "attempt on it must wait")
    login_delay_seconds: float = Field(1.0, gt=0, description="the first wait; it doubles with each further failure")
    login_max_delay_seconds: float = Field(60.0, gt=0, description="the longest wait between attempts on one account")
    login_max_failures_per_client: int = Field(30, ge=1, description="failed logins from one client address (any "
                                                                    "account) before it is refused until the "
                                                                    "window moves on")
    login_window_seconds: int = Field(900, ge=1, description="how long a failed login counts")
    max_concurrent_hashes: int = Field(2, ge=1, le=64, description="password hashes computed at once per API "
                                                                    "process (each takes argon2_memory_kib); more "
                                                                    "requests are answered 503 at once")
    hash_wait_seconds: float = Field(0.5, ge=0, le=30, description="how long a request waits for a free hash slot")
    # argon2id cost (RFC 9106 second recommended option by default); lower only to speed up tests.
    argon2_memory_kib: int = Field(65_536, ge=1024)
    argon2_time_cost: int = Field(3, ge=1)
    argon2_parallelism: int = Field(4, ge=1, le=64)


class ScheduleSettings(StrictModel):
    """Supervision schedule (监管计划): the frequency an enterprise gets when none is set for it."""

    default_frequency: Literal["monthly", "quarterly", "half_yearly", "yearly", "general"] = Field(
        "quarterly", description="until the portraits issue sets it from the risk grade")
    sample_rate: float = Field(0.05, ge=0, le=1, description='share of "general" enterprises drawn per run')


class CloudSettings(StrictModel):
    data_dir: Path = Field(Path("data"), description="where the SQLite database lives when no URL is set")
    database: DatabaseSettings = DatabaseSettings()
    api: ApiSettings = ApiSettings()
    auth: AuthSettings = AuthSettings()
    ingest: IngestSettings = IngestSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    alerts: AlertSettings = AlertSettings()
    downlink: DownlinkSettings = DownlinkSettings()
    hazards: HazardSettings = HazardSettings()
    schedule: ScheduleSettings = ScheduleSettings()

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
