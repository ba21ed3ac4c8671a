"""The TOML config loader names the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from safegrid.config import ConfigError, StrictModel, load_config


class Bus(StrictModel):
    port: str
    baud: int = Field(default=9600, gt=0)


class Sample(StrictModel):
    name: str
    buses: list[Bus] = Field(default_factory=list)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_config_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, 'name = "gw1"\n[[buses]]\nport = "/dev/ttyUSB0"\nbaud = 19200\n'), Sample)
    assert cfg.name == "gw1"
    assert cfg.buses[0].baud == 19200


def test_wrong_type_names_the_dotted_key(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "gw1"\n[[buses]]\nport = "/dev/ttyUSB0"\nbaud = "fast"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path, Sample)
    assert err.value.key == "buses[0].baud"
    assert str(path) in str(err.value)
    assert "'fast'" in str(err.value)


def test_constraint_violation_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, 'name = "gw1"\n[[buses]]\nport = "p"\nbaud = 0\n'), Sample)
    assert err.value.key == "buses[0].baud"
    assert "greater than 0" in err.value.message


def test_unknown_key_is_an_error_not_a_silent_default(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, 'name = "gw1"\nbuad = 9600\n'), Sample)
    assert err.value.key == "buad"
    assert "unknown key" in err.value.message


def test_missing_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "buses = []\n"), Sample)
    assert err.value.key == "name"


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "name = \n"), Sample)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml", Sample)
