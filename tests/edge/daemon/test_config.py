"""edge.toml: the example validates, and every kind of mistake is reported with the key that is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli import main
from edge.config import load_edge_config
from fwsim.stage.edge_site import Site
from safegrid.config import ConfigError

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "edge.example.toml"


def test_example_config_is_valid() -> None:
    config = load_edge_config(EXAMPLE)
    assert config.spaces and config.detectors and config.cloud is not None
    assert config.gateway.state_dir.is_absolute()


def test_relative_paths_are_taken_from_the_config_files_directory(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    for absolute in ("/var/lib/safegrid", "/etc/safegrid/gateway.key", "/etc/safegrid/ca.pem",
                     "/etc/safegrid/gateway.crt", "/etc/safegrid/gateway-tls.key"):
        assert f'"{absolute}"' in text
        text = text.replace(f'"{absolute}"', f'"{absolute.rsplit("/", 1)[1]}"', 1)
    (tmp_path / "site").mkdir()
    path = tmp_path / "site" / "edge.toml"
    path.write_text(text)
    config = load_edge_config(path)
    base = path.resolve().parent
    tls = config.uplink.mqtt.tls if config.uplink and config.uplink.mqtt else None
    assert tls is not None
    assert (config.gateway.state_dir, config.gateway.key_file) == (base / "safegrid", base / "gateway.key")
    assert (tls.ca_file, tls.cert_file, tls.key_file) == (base / "ca.pem", base / "gateway.crt",
                                                           base / "gateway-tls.key")


@pytest.mark.parametrize(("old", "new", "key"), [
    ('id = "gw-test"', 'id = "gw/test"', "gateway.id"),
    ('timeout_s = 0.3', 'timeout_s = 0.3\nspeed = 9', "buses[0].speed"),
    ('bus = "rs485"\nunit = 1', 'bus = "rs232"\nunit = 1', "detectors[0].bus"),
    ('unit = 10', 'unit = 1', "output_modules[0].unit"),
    ('poll_interval_s = 0.3', 'poll_interval_s = 0.3\nprofile = "output-module"', "detectors[0].profile"),
    ('output_module = "om-1"', 'output_module = "om-9"', "spaces[0].output_module"),
    ("\n[[padlocks]]", "[spaces.limits.H2S]\nlevel1 = { high = 15.0 }\n[[padlocks]]", "spaces[0].limits.H2S"),
    ('public_key = "', 'public_key = "zz', "padlocks[0].public_key"),
    ('refresh_s = 2.0', 'refresh_s = 2.0\nfault_pulse_on_s = 10.0', "output_modules[0]"),  # on ≥ period
    ('refresh_s = 2.0', 'refresh_s = 2.0\nfault_pulse_period_s = 0', "output_modules[0].fault_pulse_period_s"),
])
def test_errors_name_the_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    path = Site(tmp_path, "/dev/null").write_config()
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_edge_config(path)
    assert err.value.key == key, str(err.value)
    assert key in str(err.value) and str(path) in str(err.value)


def test_looser_limit_with_a_reason_is_accepted(tmp_path: Path) -> None:
    path = Site(tmp_path, "/dev/null").write_config(
        extra_space='[spaces.limits.H2S]\nlevel1 = { high = 15.0 }\nallow_looser = true\nreason = "site study 7"')
    limits = load_edge_config(path).spaces[0].gas_limits()
    assert any(limit.looser_than_default for limit in limits.values())


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = Site(tmp_path, "/dev/null").write_config()
    assert main(["check-config", "--config", str(path)]) == 0
    assert "gw-test" in capsys.readouterr().out
    path.write_text(path.read_text().replace("[core]\ntick_s = 0.2", "[core]\ntick_s = -1"))
    assert main(["check-config", "--config", str(path)]) == 2
    assert "core.tick_s" in capsys.readouterr().err


def test_check_config_opens_the_files_the_daemon_will_open(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """`check-config` said ok with the gateway key missing, and `run` then failed: it opens them now."""
    path = Site(tmp_path, "/dev/null").write_config()
    key = tmp_path / "gateway.key"
    key.unlink()
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "gateway.key_file" in err and str(key) in err

    key.write_bytes(b"not a key")
    assert main(["check-config", "--config", str(path)]) == 2
    assert "gateway.key_file" in capsys.readouterr().err

    Site(tmp_path, "/dev/null").write_config()  # a good key again
    (tmp_path / "state").write_text("a file where the state directory should be")
    assert main(["check-config", "--config", str(path)]) == 2
    assert "gateway.state_dir" in capsys.readouterr().err


def test_check_config_checks_the_uplink_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = Site(tmp_path, "/dev/null").write_config(
        uplink='[uplink]\nbackend = "http"\n[uplink.http]\nbase_url = "https://cloud.example.org"\n'
               'token_file = "device.token"\n')
    assert main(["check-config", "--config", str(path)]) == 2
    assert "uplink.http.token_file" in capsys.readouterr().err
    (tmp_path / "device.token").write_text("t0ken")
    assert main(["check-config", "--config", str(path)]) == 0


def test_a_missing_serial_port_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = Site(tmp_path, str(tmp_path / "ttyUSB9")).write_config()
    assert main(["check-config", "--config", str(path)]) == 0
    captured = capsys.readouterr()
    assert "warning" in captured.err and "buses[0].serial" in captured.err and "gw-test" in captured.out
