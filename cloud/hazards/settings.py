"""Hazard settings: escalation on timeout, and the limits of stored photos."""

from __future__ import annotations

from pydantic import Field

from safegrid.config import StrictModel


class HazardSettings(StrictModel):
    escalate_after_s: int = Field(0, ge=0, description="a dispatched hazard still open this long after its "
                                                       "rectification deadline is escalated one level (street → "
                                                       "district) by the rules worker")
    photo_max_bytes: int = Field(5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024,
                                 description="the largest photo accepted (JPEG or PNG)")
    photos_dir: str = Field("hazard-photos", min_length=1, description="photos are stored by SHA-256 under "
                                                                       "this directory of data_dir")
