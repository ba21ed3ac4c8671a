"""``safegrid-sim scenario list|show`` and ``safegrid-sim gas`` (as its own process, over Modbus TCP)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pymodbus.client import ModbusTcpClient

from fwsim.cli import main
from fwsim.gas import packaged_scenarios


def test_scenario_list_names_every_packaged_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "list"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == packaged_scenarios()


def test_scenario_show_describes_and_prints_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "show", "comm_loss"]) == 0
    out = capsys.readouterr().out
    assert "comm_loss 60–120 s" in out and "90 s unit 1: no reply" in out
    assert main(["scenario", "show", "h2s_spike", "--toml"]) == 0
    assert 'name = "h2s_spike"' in capsys.readouterr().out
    assert main(["scenario", "show", "nope"]) == 2


@pytest.mark.parametrize("argv", [["gas", "--help"], ["scenario", "--help"], ["--help"]])
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: safegrid-sim" in out
    if argv[0] == "gas":
        assert "--line-speed" in out and "--speed" in out and "--tcp" in out


def test_gas_needs_a_port_or_tcp(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["gas"])
    assert exit_.value.code == 2
    assert main(["gas", "--tcp", "nohost", "--run-for", "0"]) == 2
    assert main(["gas", "--tcp", "127.0.0.1:0", "--scenario", "nope", "--run-for", "0"]) == 2
    capsys.readouterr()


def test_gas_process_serves_modbus_tcp_and_logs_json() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fwsim.cli", "gas", "--tcp", "127.0.0.1:0", "--units", "1,2", "--scenario",
         "h2s_spike", "--speed", "1", "--status-every", "0"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        started = json.loads(proc.stderr.readline())  # not a TTY: JSON lines
        assert started["event"] == "gas simulator serving" and started["units"] == [1, 2]
        host, port = started["link"].rsplit(":", 1)
        client = ModbusTcpClient(host, port=int(port), timeout=2, retries=0)
        try:
            assert client.connect()
            rsp = client.read_input_registers(0, count=10, device_id=2)
            assert not rsp.isError() and rsp.registers[2] == 209  # O2 20.9 %VOL, scaled by 10
            assert not client.write_coil(0, True, device_id=10).isError()
            assert client.read_coils(0, count=4, device_id=10).bits[:4] == [True, False, False, False]
        finally:
            client.close()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    stopped = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert stopped[-1]["event"] == "gas simulator stopped" and stopped[-1]["replies"] >= 3
