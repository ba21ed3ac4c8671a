"""All registry endpoints, for the app factory to include."""

from __future__ import annotations

from fastapi import APIRouter

from cloud.registry.areas_router import router as areas
from cloud.registry.enterprises_router import router as enterprises
from cloud.registry.spaces_router import router as spaces

router = APIRouter()
for part in (areas, enterprises, spaces):
    router.include_router(part)
