"""Hazard tests keep their photos in the test's own directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.settings import CloudSettings
from tests.cloud.conftest import make_settings


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> CloudSettings:
    base = make_settings(db_url)
    return base.model_copy(update={"data_dir": tmp_path / "data", "hazards": base.hazards.model_copy(
        update={"photo_max_bytes": 4096})})
