"""The checked-in envelope vectors equal what the generator builds, and every vector checks out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protocols import crypto
from protocols.commands import COMMAND_AAD, REJECTION_CODES, verify_command
from protocols.errors import EnvelopeError
from protocols.uplink import decode_ack, decode_envelope
from protocols.uplink.fields import b64url_decode
from protocols.vectorgen import VECTORS_DIR, render
from protocols.vectorgen import envelope as generator

PATH = VECTORS_DIR / generator.FILENAME
VECTORS: dict[str, Any] = json.loads(PATH.read_text(encoding="utf-8"))
KEYS = {bytes.fromhex(kid): crypto.public_key_from_raw(bytes.fromhex(pub))
        for kid, pub in VECTORS["cloud_keys"].items()}


def test_file_equals_build() -> None:
    assert PATH.read_text(encoding="utf-8") == render(generator.build()), \
        "regenerate with: python -m protocols.vectorgen"


def test_batch_vectors_decode_to_the_listed_envelope() -> None:
    batch = VECTORS["batch"]
    for key in ("plain_hex", "gzip_hex"):
        envelope = decode_envelope(bytes.fromhex(batch[key]))
        assert envelope.model_dump(mode="json", exclude_defaults=True) == batch["envelope"]
        assert (envelope.first_seq, envelope.last_seq) == (batch["first_seq"], batch["last_seq"])
    assert json.loads(bytes.fromhex(batch["plain_hex"])) == batch["envelope"]


def test_ack_vector() -> None:
    ack = VECTORS["ack"]
    assert decode_ack(bytes.fromhex(ack["hex"])).model_dump(mode="json", exclude_defaults=True) == ack["ack"]


@pytest.mark.parametrize("vector", VECTORS["bad_batches"], ids=lambda v: v["name"])
def test_bad_batch_vectors(vector: dict[str, Any]) -> None:
    with pytest.raises(EnvelopeError) as err:
        decode_envelope(bytes.fromhex(vector["hex"]))
    assert err.value.code == vector["expect"]


@pytest.mark.parametrize("vector", VECTORS["commands"], ids=lambda v: v["name"])
def test_command_vectors(vector: dict[str, Any]) -> None:
    def verify() -> Any:
        return verify_command(vector["wire"].encode(), KEYS, gateway_id=vector["gateway"],
                              last_counter=vector["last_counter"], now_ms=vector["now_ms"], channel=vector["channel"])

    if vector["expect"] == "ok":
        assert verify().model_dump(mode="json", exclude_defaults=True) == vector["command"]
    else:
        with pytest.raises(EnvelopeError) as err:
            verify()
        assert err.value.code == vector["expect"]


@pytest.mark.parametrize("name", ["malformed_kid_unprotected", "malformed_untagged", "malformed_header_order",
                                  "malformed_extra_header"])
def test_profile_vectors_are_genuinely_signed_and_refused_for_the_profile_alone(name: str) -> None:
    """Each breaks only §5.2's profile: a plain COSE check (any header order, tag optional, kid anywhere) passes it,
    so the refusal comes from the profile, not from a bad signature."""
    vector = next(v for v in VECTORS["commands"] if v["name"] == name)
    raw = b64url_decode(json.loads(vector["wire"])["cose"], field="cose")
    crypto.verify_sign1(crypto.decode_sign1(raw, error=EnvelopeError), KEYS, external_aad=COMMAND_AAD,
                        error=EnvelopeError)
    assert vector["expect"] == "malformed"


def test_every_rejection_code_has_a_vector() -> None:
    covered = {v["expect"] for v in VECTORS["commands"]} | {v["expect"] for v in VECTORS["bad_batches"]}
    assert set(REJECTION_CODES) <= covered | {"too_large"}  # an oversize command is 64 KiB: a unit test has it
    assert "too_large" in covered  # the decompression bomb
