"""gas_registers.json: matches its generator byte for byte, decodes as stated, and says what the spec says."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from protocols.gasprofile import coil_writes, decode_identification, load_profile, read_plan
from protocols.vectorgen import gasprofile, render

TEXT = resources.files("protocols").joinpath("vectors", gasprofile.FILENAME).read_text(encoding="utf-8")
VECTORS = json.loads(TEXT)
BY_NAME = {v["name"]: v for v in VECTORS["vectors"]}


def test_file_is_what_the_generator_builds() -> None:
    assert render(gasprofile.build()) == TEXT, "run: python -m protocols.vectorgen"


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_each_vector_decodes_as_stated(name: str) -> None:
    # Pinpoints the vector that changed when the whole-file comparison fails.
    vector = BY_NAME[name]
    got = gasprofile.decode_case(vector["profile"], vector["blocks"])
    if "error" in vector:
        assert got == {"error": vector["error"], "field": vector["field"]}
    else:
        assert got == {"expect": vector["expect"]}


def _gas(name: str, gas: str) -> dict[str, Any]:
    return next(r for r in BY_NAME[name]["expect"]["readings"] if r["gas"] == gas)


def test_vectors_say_what_the_spec_says() -> None:
    # Hand-checked against protocols/gas_detector.md, independently of the decoder.
    assert _gas("normal-air", "O2") == {"gas": "O2", "unit": "%VOL", "value": 20.9, "status": "ok",
                                        "alarm1": False, "alarm2": False, "calibration_due": False}
    assert BY_NAME["normal-air"]["expect"]["settings"] is None
    assert (_gas("o2-low", "O2")["value"], _gas("o2-low", "O2")["alarm1"]) == (18.0, True)
    h2s = _gas("h2s-over-alarm2", "H2S")
    assert (h2s["value"], h2s["alarm1"], h2s["alarm2"], h2s["unit"]) == (25.0, True, True, "ppm")
    assert (_gas("co-sensor-fault-code", "CO")["value"], _gas("co-sensor-fault-code", "CO")["status"]) == (
        None, "fault")
    assert _gas("h2s-fault-bit-only", "H2S")["value"] is None
    assert _gas("flammable-not-fitted", "LEL")["status"] == "not_fitted"
    assert {r["status"] for r in BY_NAME["warm-up"]["expect"]["readings"]} == {"warmup"}
    assert (_gas("negative-values", "H2S")["value"], _gas("negative-values", "H2S")["status"]) == (-0.3, "ok")
    assert (_gas("negative-values", "LEL")["value"], _gas("negative-values", "LEL")["status"]) == (
        -5.0, "under_range")
    assert (_gas("over-range", "H2S")["value"], _gas("over-range", "H2S")["status"]) == (None, "over_range")
    assert (_gas("over-range", "CO")["value"], _gas("over-range", "CO")["status"]) == (1500.0, "over_range")
    assert {r["status"] for r in BY_NAME["device-fault"]["expect"]["readings"]} == {"fault"}
    assert _gas("co-calibrating", "CO")["status"] == "calibrating"
    overdue = BY_NAME["calibration-overdue"]["expect"]
    assert overdue["status"]["calibration_due"] is True
    assert overdue["settings"][0]["calibrated_on"] == "2023-01-10"
    assert overdue["settings"][0]["calibration_due_on"] == "2023-07-09"
    assert overdue["settings"][0]["bump_due_on"] == "2023-02-09"
    ident = BY_NAME["identification"]["expect"]
    assert ident["identity"] == {"vendor": "SafeGrid Sim", "model": "GD-4F", "serial": "SG2025000123",
                                 "firmware": "1.4.2"}
    h2s_settings = ident["settings"][2]
    assert (h2s_settings["alarm1"], h2s_settings["alarm2"]) == (
        {"value": 10.0, "direction": "rising"}, {"value": 15.0, "direction": "rising"})
    assert ident["settings"][0]["alarm1"] == {"value": 19.5, "direction": "falling"}
    assert BY_NAME["heartbeat-wrapped"]["expect"]["heartbeat"] == 0
    assert BY_NAME["module-alarm"]["expect"]["outputs"]["siren"] is True
    assert BY_NAME["module-alarm"]["expect"]["inputs"]["ack"] is True
    errors = {n for n, v in BY_NAME.items() if "error" in v}
    assert errors == {n for n in BY_NAME if n.startswith("error-")}


def test_identification_and_coil_write_vectors() -> None:
    for vector in VECTORS["identification_objects"]:
        objects = {int(oid, 16): bytes.fromhex(raw) for oid, raw in vector["objects"].items()}
        identity = decode_identification(load_profile(vector["profile"]), objects)
        assert {k: getattr(identity, k) for k in vector["expect"]} == vector["expect"]
    for vector in VECTORS["coil_writes"]:
        writes = coil_writes(load_profile(vector["profile"]), vector["desired"])  # type: ignore[arg-type]
        assert [list(w) for w in writes] == vector["expect"]


def test_read_plans_in_the_file_match_the_profiles() -> None:
    for name, info in VECTORS["profiles"].items():
        profile = load_profile(name)
        assert info["read_plan"] == [[b.function, b.address, b.count] for b in read_plan(profile)]
