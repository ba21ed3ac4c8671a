"""The HTTP door of ingestion: ``POST /api/v1/gateways/{gateway}/batches`` (protocols/uplink.md §7), and the
streams' watermarks and gaps for the people who look after gateways."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response
from sqlalchemy import select

from cloud.deps import DbSession, Now, Settings
from cloud.devices.deps import AuthenticatedGateway
from cloud.errors import UnsupportedMediaType
from cloud.ingest.doors import decode_batch, sender_for
from cloud.ingest.models import IngestStream
from cloud.ingest.schemas import StreamOut
from cloud.ingest.service import ingest_batch
from cloud.schemas import ERROR_RESPONSES, ErrorBody
from cloud.scope import VisibleGateway
from cloud.telemetry.sink import TelemetrySink
from protocols.uplink import encode_ack
from protocols.uplink.envelope import CONTENT_TYPE
from protocols.uplink.fields import GATEWAY_ID_PATTERN

router = APIRouter(prefix="/api/v1", tags=["ingestion"], responses=ERROR_RESPONSES)

#: The batches path, for the body-size middleware (its limit is the batch limit, not the API's).
BATCHES_PATH_PATTERN = f"/api/v1/gateways/{GATEWAY_ID_PATTERN.removeprefix('^').removesuffix('$')}/batches"

_EXAMPLE_BATCH = {"v": 1, "gateway": "gw-0001", "epoch": 3, "sent_at_ms": 1767225600000, "records": [
    {"seq": 101, "kind": "telemetry", "at_ms": 1767225540000, "body": {
        "space_id": "12", "detector_id": "det-7a", "gases": [{"gas": "O2", "value": 20.9, "unit": "%VOL"},
                                                             {"gas": "H2S", "value": 0.0, "unit": "ppm"}]}}]}
_EXAMPLE_ACK = {"v": 1, "gateway": "gw-0001", "epoch": 3, "watermark": 101}


async def raw_body(request: Request) -> bytes:
    return await request.body()


def get_sink(request: Request) -> TelemetrySink:
    return request.app.state.telemetry_sink


@router.post(
    "/gateways/{gateway_id}/batches", response_class=Response,
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "object", "description": "an uplink envelope (protocols/uplink.md "
                                                                         "§2), optionally gzip with Content-Encoding"},
                             "example": _EXAMPLE_BATCH}}}},
    responses={200: {"description": "the ack, after the batch is committed",
                     "content": {"application/json": {"example": _EXAMPLE_ACK}}},
               403: {"model": ErrorBody, "description": "gateway revoked, or the batch names another gateway"},
               409: {"model": ErrorBody, "description": "an epoch the gateway was never enrolled in"},
               413: {"model": ErrorBody, "description": "over 4 MiB, also once inflated"},
               415: {"model": ErrorBody, "description": "not application/json, or an encoding other than gzip"},
               503: {"model": ErrorBody, "description": "the store is unavailable: retry with backoff"}})
def post_batch(gateway: AuthenticatedGateway, body: Annotated[bytes, Depends(raw_body)], db: DbSession, now: Now,
               settings: Settings, sink: Annotated[TelemetrySink, Depends(get_sink)],
               content_type: Annotated[str | None, Header()] = None,
               content_encoding: Annotated[str | None, Header()] = None) -> Response:
    """Store a batch of the authenticated gateway (device token); answer with the ack for its (gateway, epoch).

    Idempotent by (gateway, epoch, seq): re-sending is always safe. An empty batch just returns the ack."""
    if (content_type or "").split(";")[0].strip().lower() != CONTENT_TYPE:
        raise UnsupportedMediaType(f"send {CONTENT_TYPE}", field="content-type")
    encoding = (content_encoding or "identity").strip().lower()
    if encoding not in ("gzip", "identity"):
        raise UnsupportedMediaType("Content-Encoding must be gzip or absent", field="content-encoding")
    envelope = decode_batch(body, gateway_id=gateway.id, max_bytes=settings.ingest.max_batch_bytes)
    result = ingest_batch(db, sender=sender_for(gateway, envelope), envelope=envelope, sink=sink, now=now,
                          alerts=settings.alerts)
    db.commit()
    return Response(content=encode_ack(result.ack), media_type=CONTENT_TYPE)


@router.get("/gateways/{gateway_id}/streams", response_model=list[StreamOut])
def list_streams(gateway: VisibleGateway, db: DbSession) -> list[StreamOut]:
    """What the cloud holds of each epoch of a gateway: watermark, gaps, counts (newest epoch first)."""
    rows = db.execute(select(IngestStream).where(IngestStream.gateway_id == gateway.id)
                      .order_by(IngestStream.epoch.desc())).scalars()
    return [StreamOut.model_validate(r) for r in rows]
