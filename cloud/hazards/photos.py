"""Hazard photos, stored by content: the file is named by its SHA-256 under the photos directory, so the same
photo twice is stored once and a hazard references photos by hash. Only JPEG and PNG (told by their magic bytes,
not by what the client claims), up to ``hazards.photo_max_bytes``."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from cloud.db.upsert import insert_ignoring_duplicates
from cloud.errors import InvalidInput, PayloadTooLarge
from cloud.hazards.models import HazardPhoto

MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
SHA256_HEX = r"^[0-9a-f]{64}$"


def media_type(data: bytes, *, field: str = "photo") -> str:
    for magic, kind in MAGIC:
        if data.startswith(magic):
            return kind
    raise InvalidInput("照片须为 JPEG 或 PNG 图像 / the photo is not a JPEG or PNG image", field=field,
                       code="not_an_image")


def store_photo(db: Session, *, directory: Path, data: bytes, max_bytes: int, now: datetime,
                field: str = "photo") -> HazardPhoto:
    """Check and store ``data``; the row of an identical photo stored before is returned as it is."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"照片过大 / the photo is too large (at most {max_bytes} bytes)", field=field,
                              code="too_large")
    kind = media_type(data, field=field)
    digest = hashlib.sha256(data).hexdigest()
    existing = db.get(HazardPhoto, digest)
    if existing is not None:
        return existing
    path = directory / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write aside and rename: a reader never sees half a photo, a crash leaves no file under the hash.
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    # Two uploads of one photo at once: one row wins, both answer the same hash.
    insert_ignoring_duplicates(db, HazardPhoto.__table__, [{"sha256": digest, "media_type": kind,
                                                            "size": len(data), "stored_at": now}])
    row = db.get(HazardPhoto, digest)
    assert row is not None
    return row


def check_photos(db: Session, hashes: list[str], *, field: str) -> None:
    """Every hash a hazard references must name a stored photo."""
    for index, digest in enumerate(hashes):
        if db.get(HazardPhoto, digest) is None:
            raise InvalidInput("no such photo: upload it first", field=f"{field}.{index}")
