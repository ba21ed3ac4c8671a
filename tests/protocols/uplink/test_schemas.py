"""The JSON Schema files equal what the models generate, and valid messages validate against them."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from protocols.schemas import MESSAGES, SCHEMAS_DIR, build_schema, render
from protocols.uplink.fields import b64url_decode
from protocols.vectorgen import VECTORS_DIR

VECTORS: dict[str, Any] = json.loads((VECTORS_DIR / "envelope.json").read_text(encoding="utf-8"))


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS_DIR / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("name", MESSAGES)
def test_checked_in_schema_equals_generated(name: str) -> None:
    assert (SCHEMAS_DIR / name).read_text(encoding="utf-8") == render(build_schema(name)), \
        "regenerate with: python -m protocols.schemas"


def test_no_stray_schema_files() -> None:
    assert {p.name for p in SCHEMAS_DIR.glob("*.json")} == set(MESSAGES)


def test_vectors_validate_against_the_schemas() -> None:
    _validator("envelope.json").validate(VECTORS["batch"]["envelope"])
    _validator("ack.json").validate(VECTORS["ack"]["ack"])
    commands, signed = _validator("command.json"), _validator("signed_command.json")
    wires = []
    for vector in VECTORS["commands"]:
        if vector["expect"] == "ok":
            commands.validate(vector["command"])
            wire = json.loads(vector["wire"])
            signed.validate(wire)
            wires.append(wire)
    _validator("command_poll.json").validate({"v": 1, "commands": wires})
    _validator("status.json").validate({"v": 1, "gateway": "gw-1", "online": False})
    _validator("status.json").validate({"v": 1, "gateway": "gw-1", "online": True, "clock_trusted": False})


@pytest.mark.parametrize(("name", "doc"), [
    ("envelope.json", {**VECTORS["batch"]["envelope"], "extra": 1}),
    ("envelope.json", {**VECTORS["batch"]["envelope"], "gateway": "gw/1"}),
    ("envelope.json", {**VECTORS["batch"]["envelope"],
                       "records": [{**VECTORS["batch"]["envelope"]["records"][0], "kind": "reboot"}]}),
    ("ack.json", {**VECTORS["ack"]["ack"], "watermark": -1}),
    ("status.json", {"v": 1, "gateway": "gw-1"}),
    ("status.json", {"v": 1, "gateway": "gw-1", "online": True, "clock_trusted": "no"}),
    ("signed_command.json", {"v": 1, "cose": "not base64url!"}),
])
def test_schemas_refuse_invalid_messages(name: str, doc: dict[str, Any]) -> None:
    assert not _validator(name).is_valid(doc)


def test_ok_command_vectors_carry_their_cose() -> None:
    for vector in VECTORS["commands"]:
        if vector["expect"] == "ok":
            assert b64url_decode(json.loads(vector["wire"])["cose"])[:1] == b"\xd2"  # tag 18
