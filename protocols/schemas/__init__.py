"""JSON Schema (draft 2020-12) of every uplink/downlink message, generated from the pydantic models.

The files beside this module are generated: ``python -m protocols.schemas`` rewrites them after a
deliberate change, and a test fails while a checked-in file differs from what the models give.
Schemas describe shape and ranges; a few rules need code (seq order, base64url canonical form, sizes of
free-form objects, signatures) and are checked by the decoders in ``protocols.uplink`` and
``protocols.commands``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from protocols.commands import COMMAND_ADAPTER, POLL_ADAPTER, SIGNED_ADAPTER
from protocols.uplink.envelope import ACK_ADAPTER, ENVELOPE_ADAPTER, STATUS_ADAPTER

SCHEMAS_DIR = Path(__file__).resolve().parent
DRAFT = "https://json-schema.org/draft/2020-12/schema"

#: file name → (title, the adapter of the message it describes)
MESSAGES: dict[str, tuple[str, TypeAdapter[Any]]] = {
    "envelope.json": ("Envelope", ENVELOPE_ADAPTER),
    "ack.json": ("Ack", ACK_ADAPTER),
    "status.json": ("Status", STATUS_ADAPTER),
    "command.json": ("Command", COMMAND_ADAPTER),
    "signed_command.json": ("SignedCommand", SIGNED_ADAPTER),
    "command_poll.json": ("CommandPoll", POLL_ADAPTER),
}


def build_schema(name: str) -> dict[str, Any]:
    title, adapter = MESSAGES[name]
    schema = adapter.json_schema(mode="validation")
    return {"$schema": DRAFT, "title": title, **{k: v for k, v in schema.items() if k != "title"}}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_all(directory: Path = SCHEMAS_DIR) -> list[Path]:
    written = []
    for name in MESSAGES:
        path = directory / name
        path.write_text(render(build_schema(name)), encoding="utf-8")
        written.append(path)
    return written
