"""TLS is the uplink's default: plaintext needs ``insecure = true``, named by check-config when missing, and
is warned about at every start."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from edge.cli import main
from edge.uplink import HttpConfig, MqttConfig, UplinkConfig
from edge.uplink.http import HttpUplink
from edge.uplink.mqtt import MqttUplink
from fwsim.rig.mosquitto import MosquittoBroker
from fwsim.stage.edge_site import Site
from safegrid.config import ConfigError, parse_config
from tests.edge.uplink.conftest import GATEWAY


def _key_of(data: dict[str, object]) -> str | None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, UplinkConfig)
    return info.value.key


def test_plaintext_needs_insecure_and_the_error_names_that_key() -> None:
    assert _key_of({"backend": "http", "http": {"base_url": "http://cloud.example"}}) == "http.insecure"
    assert _key_of({"backend": "http", "http": {"base_url": "ftp://cloud.example"}}) == "http.insecure"
    assert _key_of({"backend": "mqtt", "mqtt": {"host": "b", "port": 1883}}) == "mqtt.insecure"
    assert _key_of({"backend": "mqtt", "mqtt": {"host": "b", "insecure": True, "tls": {}}}) == "mqtt.insecure"
    plain = parse_config({"backend": "http", "http": {"base_url": "http://127.0.0.1:8080", "insecure": True}},
                         UplinkConfig)
    assert plain.http is not None and plain.http.plaintext
    secure = parse_config({"backend": "http", "http": {"base_url": "https://cloud.example"}}, UplinkConfig)
    assert secure.http is not None and not secure.http.plaintext


def test_mqtt_without_a_tls_section_uses_tls_with_the_system_trust_store() -> None:
    config = parse_config({"backend": "mqtt", "mqtt": {"host": "broker.example"}}, UplinkConfig)
    assert config.mqtt is not None and config.mqtt.effective_tls is not None
    assert config.mqtt.effective_tls.ca_file is None  # the system's trust store
    plain = MqttConfig(host="127.0.0.1", port=1883, insecure=True)
    assert plain.effective_tls is None


async def test_a_default_mqtt_uplink_sets_up_tls_and_an_insecure_one_warns_at_start(
        mosquitto: MosquittoBroker) -> None:
    secure = MqttUplink(MqttConfig(host=mosquitto.host, port=mosquitto.port), gateway=GATEWAY,
                        verify_ack=lambda _payload: None, epoch=1)  # type: ignore[arg-type,return-value]
    with structlog.testing.capture_logs() as logs:
        await secure.start()
        try:
            assert secure._client._ssl_context is not None  # TLS although no tls section was written
        finally:
            await secure.close()
    assert not [e for e in logs if e["event"] == "uplink_plaintext"]
    plain = MqttUplink(MqttConfig(host=mosquitto.host, port=mosquitto.port, insecure=True), gateway=GATEWAY,
                       verify_ack=lambda _payload: None, epoch=1)  # type: ignore[arg-type,return-value]
    with structlog.testing.capture_logs() as logs:
        await plain.start()
        await plain.close()
    assert [e for e in logs if e["event"] == "uplink_plaintext" and e["log_level"] == "warning"]


async def test_an_insecure_http_uplink_warns_at_every_start() -> None:
    for _ in range(2):
        uplink = HttpUplink(HttpConfig(base_url="http://127.0.0.1:9", insecure=True, poll_interval_s=60),
                            gateway=GATEWAY, last_down_counter=lambda: 0)
        with structlog.testing.capture_logs() as logs:
            await uplink.start()
            await uplink.close()
        assert [e for e in logs if e["event"] == "uplink_plaintext" and e["backend"] == "http"]


def test_check_config_names_the_missing_insecure_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = Site(tmp_path, "/dev/null").write_config(
        uplink='[uplink]\nbackend = "http"\n\n[uplink.http]\nbase_url = "http://127.0.0.1:8080"\n')
    assert main(["check-config", "--config", str(path)]) == 2
    assert "uplink.http.insecure" in capsys.readouterr().err
    path.write_text(path.read_text().replace('base_url = "http://127.0.0.1:8080"\n',
                                             'base_url = "http://127.0.0.1:8080"\ninsecure = true\n'))
    assert main(["check-config", "--config", str(path)]) == 0
    (tmp_path / "mqtt").mkdir()
    path = Site(tmp_path / "mqtt", "/dev/null").write_config(
        uplink='[uplink]\nbackend = "mqtt"\n\n[uplink.mqtt]\nhost = "127.0.0.1"\nport = 1883\n')
    assert main(["check-config", "--config", str(path)]) == 2
    assert "uplink.mqtt.insecure" in capsys.readouterr().err
