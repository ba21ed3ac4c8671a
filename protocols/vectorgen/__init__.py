"""Deterministic generators of the JSON test vectors in ``protocols/vectors/``.

Each module here exposes ``FILENAME`` and ``build() -> dict``. Keys come from fixed seeds and Ed25519
signatures are deterministic, so ``build()`` reproduces the checked-in file byte for byte; the tests
assert that, and ``python -m protocols.vectorgen`` rewrites every file after a deliberate change.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

VECTORS_DIR = Path(__file__).resolve().parent.parent / "vectors"


def seeded_key(label: str) -> Ed25519PrivateKey:
    """A fixed, publicly known test key derived from ``label`` — for vectors only, never for devices."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"safegrid-test-vector:" + label.encode()).digest())


def seeded_bytes(label: str, n: int) -> bytes:
    """Fixed pseudo-random bytes for ids and nonces in vectors."""
    return hashlib.sha256(b"safegrid-test-bytes:" + label.encode()).digest()[:n]


def generators() -> list[ModuleType]:
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            mods.append(importlib.import_module(f"{__name__}.{info.name}"))
    return mods


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def write_all() -> list[Path]:
    written = []
    for mod in generators():
        path = VECTORS_DIR / mod.FILENAME
        path.write_text(render(mod.build()), encoding="utf-8")
        written.append(path)
    return written
