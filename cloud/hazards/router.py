"""HTTP endpoints of hazards: report (any source), list and read in scope, take a lifecycle step, the step trace,
the per-grid patrol/handling mode, and photo upload (content-addressed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from cloud.auth.deps import CurrentUser, allowed
from cloud.auth.policy import Action
from cloud.auth.roles import Principal
from cloud.deps import DbSession, Limit, Now, Offset, Settings
from cloud.hazards import service
from cloud.hazards.lifecycle import HazardState, Severity
from cloud.hazards.models import Hazard, Source
from cloud.hazards.photos import store_photo
from cloud.hazards.schemas import GridMode, GridModeOut, HazardEventOut, HazardOut, HazardReport, HazardStep, PhotoOut
from cloud.schemas import ERROR_RESPONSES, ErrorBody, Page, QueryId, page_of
from cloud.scope import GRID, Kind, VisibleGrid, in_scope, visible_enterprise

PREFIX = "/api/v1"
PHOTOS_PATH = f"{PREFIX}/hazard-photos"
router = APIRouter(prefix=PREFIX, tags=["hazards"], responses=ERROR_RESPONSES)

HAZARD = Kind(Hazard, "hazard_id", "hazard")
VisibleHazard = Annotated[Hazard, in_scope(HAZARD)]
HandledHazard = Annotated[Hazard, in_scope(HAZARD, action=Action.HAZARD_HANDLE, lock=True)]
Reporter = Annotated[Principal, allowed(Action.HAZARD_REPORT)]
Handler = Annotated[Principal, allowed(Action.HAZARD_HANDLE)]
ConfiguredGrid = Annotated[Any, in_scope(GRID, action=Action.HAZARD_SETTINGS)]
PhotoUploader = Annotated[Principal, allowed(Action.HAZARD_PHOTO)]
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "the lifecycle refuses the step; `code` names the rule (e.g. "
                                             "`closed_without_verification`, `combined_mode_finder_only`)"},
}


def out(hazard: Hazard, actor: Principal) -> HazardOut:
    """The hazard as ``actor`` may see it: a public reporter's contact only for supervisors."""
    shown = HazardOut.model_validate(hazard)
    if actor.role not in service.CONTACT_ROLES:
        shown.reporter_contact = None
    return shown


@router.post("/hazards", response_model=HazardOut, status_code=201)
def report_hazard(body: HazardReport, actor: Reporter, db: DbSession, now: Now) -> HazardOut:
    """Report a hazard of an enterprise in your scope (by `enterprise_id`, or `uscc` for a public report). It goes
    to the enterprise's grid, in that grid's mode; a major hazard is flagged for law enforcement at once."""
    if body.enterprise_id is not None:
        enterprise = visible_enterprise(db, actor=actor, enterprise_id=body.enterprise_id)
    else:
        assert body.uscc is not None
        enterprise = service.enterprise_by_uscc(db, actor=actor, uscc=body.uscc)
    hazard = service.report_hazard(db, actor=actor, enterprise=enterprise, source=body.source,
                                   description=body.description, severity=body.severity, deadline=body.deadline,
                                   photos=body.photos, now=now, alert_id=body.alert_id,
                                   reporter_contact=body.reporter_contact, note=body.note)
    db.commit()
    return out(hazard, actor)


@router.get("/hazards", response_model=Page[HazardOut])
def list_hazards(actor: CurrentUser, db: DbSession, enterprise_id: QueryId = None, grid_id: QueryId = None,
                 state: HazardState | None = None, severity: Severity | None = None, source: Source | None = None,
                 flagged_for_enforcement: bool | None = None, limit: Limit = 100, offset: Offset = 0) -> Response:
    """Hazards in your scope, newest first; `flagged_for_enforcement=true` is law enforcement's queue."""
    rows, total = service.list_hazards(db, actor=actor, enterprise_id=enterprise_id, grid_id=grid_id, state=state,
                                       severity=severity, source=source,
                                       flagged_for_enforcement=flagged_for_enforcement, limit=limit, offset=offset)
    return page_of(HazardOut, [out(row, actor) for row in rows], total=total, limit=limit, offset=offset)


@router.get("/hazards/{hazard_id}", response_model=HazardOut)
def read_hazard(hazard: VisibleHazard, actor: CurrentUser) -> HazardOut:
    return out(hazard, actor)


@router.get("/hazards/{hazard_id}/events", response_model=list[HazardEventOut])
def hazard_events(hazard: VisibleHazard, db: DbSession) -> list[HazardEventOut]:
    """The hazard's trace: every step, who took it, when, from which state to which, and the note."""
    return [HazardEventOut.model_validate(event) for event in service.events(db, hazard)]


@router.post("/hazards/{hazard_id}/steps", response_model=HazardOut, responses=_CONFLICT)
def take_step(hazard: HandledHazard, body: HazardStep, actor: Handler, db: DbSession, now: Now) -> HazardOut:
    """Move the hazard on: `assign` (dispatch with a deadline), `start`, `rectify` (with evidence photos),
    `verify`, `reject`, `close` (only once verified), `escalate`. Who may take which step depends on the role and
    the grid's mode (combined: the finder follows it to closure; separated: the finder hands it over)."""
    hazard = service.take_step(db, actor=actor, hazard=hazard, step=body.step, now=now, note=body.note,
                               deadline=body.deadline, assignee=body.assignee, level=body.level,
                               evidence_photos=body.evidence_photos)
    db.commit()
    return out(hazard, actor)


@router.get("/grids/{grid_id}/hazard-mode", response_model=GridModeOut)
def read_grid_mode(grid: VisibleGrid, db: DbSession) -> GridModeOut:
    """Whether the grid separates patrol and handling (巡办分离) or combines them (巡办结合, the default)."""
    return GridModeOut(grid_id=grid.id, mode=service.grid_mode(db, grid.id))


@router.put("/grids/{grid_id}/hazard-mode", response_model=GridModeOut)
def set_grid_mode(grid: ConfiguredGrid, body: GridMode, actor: CurrentUser, db: DbSession, now: Now) -> GridModeOut:
    """Set the grid's mode: hazards reported from now on take it; those already reported keep theirs."""
    mode = service.set_grid_mode(db, actor=actor, grid=grid, mode=body.mode, now=now)
    db.commit()
    return GridModeOut(grid_id=grid.id, mode=mode)


async def _raw_body(request: Request) -> bytes:
    """The photo as bytes; the body-size middleware caps it at the photo limit."""
    return await request.body()


@router.post(PHOTOS_PATH.removeprefix(PREFIX), response_model=PhotoOut, status_code=201,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                 "image/png": {"schema": {"type": "string", "format": "binary"}}}}},
             responses={413: {"model": ErrorBody}})
def upload_photo(data: Annotated[bytes, Depends(_raw_body)], actor: PhotoUploader, db: DbSession, now: Now,
                 settings: Settings) -> PhotoOut:
    """Store a JPEG or PNG photo (told by its bytes) and answer its SHA-256, which hazards reference. The same
    photo twice is stored once."""
    row = store_photo(db, directory=settings.data_dir / settings.hazards.photos_dir, data=data,
                      max_bytes=settings.hazards.photo_max_bytes, now=now)
    db.commit()
    return PhotoOut.model_validate(row)
