"""Building blocks of the ingestion and alert tests: enrolled gateways with device tokens and cloud keys,
uplink records and batches, and reading back what was stored."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cloud.db.engine import Database
from cloud.devices.models import Gateway, GatewayStatus
from cloud.devices.tokenauth import new_device_token
from cloud.ingest.models import IngestStream, UplinkRecord, UplinkSummary
from cloud.keys import service as keys_service
from cloud.keys.service import KeyStore, init_keys, keys_dir
from cloud.telemetry.models import Reading
from protocols.uplink import Envelope, encode_envelope, make_envelope

T0_MS = 1_777_885_200_000  # 2026-05-04 09:00 UTC, the tests' clock start


def install_keys(data_dir: Path, now: datetime, monkeypatch: pytest.MonkeyPatch) -> KeyStore:
    """Fresh cloud keys in ``data_dir`` as this process's key store (what the app and workers do at start)."""
    init_keys(keys_dir(data_dir), now=now)
    store = KeyStore(keys_dir(data_dir))
    monkeypatch.setattr(keys_service, "_default", store)
    return store


def add_gateway(database: Database, *, gateway_id: str, enterprise_id: int, now: datetime, epoch: int = 1) -> str:
    """An enrolled, active gateway; returns its device token."""
    with database.session(write=True) as db:
        gateway = Gateway(id=gateway_id, enterprise_id=enterprise_id, name=f"gateway {gateway_id}",
                          status=GatewayStatus.ACTIVE, epoch=epoch, created_at=now, updated_at=now)
        db.add(gateway)
        db.flush()
        token = new_device_token(db, gateway=gateway, now=now)
        db.commit()
    return token


def telemetry(seq: int, *, space: str = "SP1", detector: str = "GD-SP1", h2s: float = 0.5,
              at_ms: int | None = None, flags: Sequence[str] = ()) -> dict[str, Any]:
    gases: list[dict[str, Any]] = [{"gas": "O2", "value": 20.9, "unit": "%VOL"},
                                   {"gas": "H2S", "value": h2s, "unit": "ppm"}]
    body: dict[str, Any] = {"space_id": space, "detector_id": detector, "gases": gases}
    if flags:
        body["flags"] = list(flags)
    return {"seq": seq, "kind": "telemetry", "at_ms": T0_MS + seq * 1000 if at_ms is None else at_ms, "body": body}


def summary(seq: int, seq_to: int, *, space: str = "SP1") -> dict[str, Any]:
    return {"seq": seq, "seq_to": seq_to, "kind": "summary", "at_ms": T0_MS + seq * 1000,
            "body": {"count": seq_to - seq + 1, "from_ms": T0_MS + seq * 1000, "to_ms": T0_MS + seq_to * 1000,
                     "series": [{"space_id": space, "detector_id": "GD-SP1", "gas": "H2S", "unit": "ppm",
                                 "n": seq_to - seq + 1, "min": 0.0, "max": 1.0, "mean": 0.5}]}}


def alarm(seq: int, alarm_id: str, state: str = "raised", *, space: str = "SP1", cause: str = "gas_level2",
          level: int = 2, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"alarm_id": alarm_id, "state": state, "cause": cause, "level": level,
                            "space_id": space, "gas": "H2S", "value": 21.0, "unit": "ppm", **extra}
    return {"seq": seq, "kind": "alarm", "at_ms": T0_MS + seq * 1000, "body": body}


def session(seq: int, session_id: str, state: str, *, space: str = "SP1", permit: str | None = None,
            entrants: int = 0, deadline_ms: int | None = None, at_ms: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"session_id": session_id, "space_id": space, "state": state, "entrants": entrants}
    if permit:
        body["permit_id"] = permit
    if deadline_ms is not None:
        body["deadline_ms"] = deadline_ms
    return {"seq": seq, "kind": "session", "at_ms": T0_MS + seq * 1000 if at_ms is None else at_ms, "body": body}


def batch(gateway: str, records: Iterable[dict[str, Any]], *, epoch: int = 1) -> Envelope:
    return make_envelope(gateway, epoch, T0_MS, list(records))


def batch_bytes(gateway: str, records: Iterable[dict[str, Any]], *, epoch: int = 1, compress: bool = False) -> bytes:
    return encode_envelope(batch(gateway, records, epoch=epoch), compress=compress)


def stored_seqs(database: Database, gateway: str, epoch: int = 1) -> list[int]:
    """Every seq accounted for by a stored record, with repetitions if anything were doubled."""
    with database.session(write=False) as db:
        seqs = list(db.execute(select(UplinkRecord.seq).where(UplinkRecord.gateway_id == gateway,
                                                              UplinkRecord.epoch == epoch)).scalars())
        for first, last in db.execute(select(UplinkSummary.seq, UplinkSummary.seq_to).where(
                UplinkSummary.gateway_id == gateway, UplinkSummary.epoch == epoch)).all():
            seqs += [s for s in range(first, last + 1) if s not in seqs]
    return sorted(seqs)


def reading_count(database: Database, gateway: str) -> int:
    with database.session(write=False) as db:
        return int(db.execute(select(func.count()).select_from(Reading).where(Reading.gateway_id == gateway))
                   .scalar_one())


def stream(database: Database, gateway: str, epoch: int = 1) -> IngestStream | None:
    with database.session(write=False) as db:
        return db.get(IngestStream, (gateway, epoch))
