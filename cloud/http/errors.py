"""Every error leaves the API as ``{"error": {"code", "message", "field"}}`` with the right status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from cloud.errors import CloudError


def error_response(status: int, code: str, message: str, *, field: str | None = None,
                   extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": {"code": code, "message": message, "field": field}}
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=headers)


def field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "scope", "kind")`` → ``scope.kind``; query and path members keep their place: ``query.limit``."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _cloud_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CloudError)
    return error_response(exc.status, exc.code, exc.message, field=exc.field, extra=exc.extra(),
                          headers=exc.headers())


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": "body" if e["type"] == "json_invalid" else field_of(e["loc"]), "message": e["msg"],
               "type": e["type"]} for e in exc.errors()]
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    return error_response(422, "invalid", first["message"], field=first["field"], extra={"errors": errors})


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail),
                          headers=dict(exc.headers or {}))


async def _integrity_error(_request: Request, _exc: Exception) -> JSONResponse:
    # A uniqueness or reference rule enforced by the database (a race the service pre-checks did not see).
    return error_response(409, "conflict", "conflicts with existing data (duplicate, or still referenced)")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CloudError, _cloud_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
