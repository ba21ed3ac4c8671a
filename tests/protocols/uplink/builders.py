"""Plain builders shared by the uplink tests (fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any

from protocols.vectorgen import envelope as vectors

GATEWAY = vectors.GATEWAY
NOW_MS = vectors.NOW_MS


def telemetry_body(h2s: float | None = 1.0, *, detector: str = "det-1") -> dict[str, Any]:
    return {"space_id": "space-1", "detector_id": detector,
            "gases": [{"gas": "O2", "value": 20.9, "unit": "%VOL"}, {"gas": "H2S", "value": h2s, "unit": "ppm"}]}
