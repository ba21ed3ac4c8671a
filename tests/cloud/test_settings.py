"""Cloud settings: defaults, the example config, the environment override of the database URL, bad keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.settings import DATABASE_URL_ENV, CloudSettings, load_settings
from safegrid.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_put_sqlite_in_the_data_dir() -> None:
    settings = load_settings(None, environ={})
    assert settings.database_url() == "sqlite:///data/safegrid-cloud.db"
    assert settings.database.migrate_on_start is False


def test_example_config_parses_to_the_defaults() -> None:
    assert load_settings(ROOT / "config" / "cloud.example.toml", environ={}) == CloudSettings()


def test_environment_url_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cloud.toml"
    path.write_text('[database]\nurl = "sqlite:///file.db"\nmigrate_on_start = true\n')
    settings = load_settings(path, environ={DATABASE_URL_ENV: "postgresql+psycopg://u@h/db"})
    assert settings.database_url() == "postgresql+psycopg://u@h/db"
    assert settings.database.migrate_on_start is True  # the rest of the section is kept
    assert load_settings(path, environ={}).database_url() == "sqlite:///file.db"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cloud.toml"
    path.write_text("[auth]\nlogin_max_failure = 3\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert err.value.key == "auth.login_max_failure"


def test_argon2_cost_has_a_floor(tmp_path: Path) -> None:
    path = tmp_path / "cloud.toml"
    path.write_text("[auth]\nargon2_memory_kib = 16\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert err.value.key == "auth.argon2_memory_kib"


def test_trusted_proxies_must_be_addresses_or_networks(tmp_path: Path) -> None:
    path = tmp_path / "cloud.toml"
    path.write_text('[api]\ntrusted_proxies = ["10.0.0.0/24", "192.0.2.7", "lb.internal"]\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert err.value.key == "api.trusted_proxies" and "lb.internal" in str(err.value)
    path.write_text('[api]\ntrusted_proxies = ["10.0.0.0/24", "192.0.2.7", "2001:db8::/32"]\n')
    assert load_settings(path, environ={}).api.trusted_proxies == ["10.0.0.0/24", "192.0.2.7", "2001:db8::/32"]
