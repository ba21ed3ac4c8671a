"""Schema building blocks shared by the domains: strict input models, PATCH bodies, whole-body examples, pages,
the error body."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from fastapi import Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

#: The largest id: ids are INTEGER columns (32 bits on PostgreSQL). A larger number names no row, and handed to
#: the database it fails the query (PostgreSQL: integer out of range; SQLite past 64 bits: OverflowError), a 500.
#: So every id the API takes — path, query or body — is bounded by it, and answers 422 beyond.
MAX_ID = 2**31 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


class Input(BaseModel):
    """Request bodies: unknown members are refused (422 naming them), so nobody sets what a schema omits."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def body_examples(*bodies: dict[str, Any]) -> ConfigDict:
    """The ``model_config`` of a request body with whole-body examples: OpenAPI shows them on the body's schema
    (Swagger UI's "Try it out" starts from the first), and ``tests/cloud/test_openapi_examples.py`` validates
    each against the model. A subclass inherits them: give it its own."""
    return ConfigDict(json_schema_extra={"examples": list(bodies)})


class Patch(Input):
    """PATCH bodies: absent members stay as they are; ``null`` is accepted only for members in ``nullable``."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="matching rows visible to the caller")
    limit: int
    offset: int


def json_of(model: BaseModel) -> Response:
    """The JSON answer of a sync route, serialized here, in the route's own worker thread.

    A sync route that returns a model has FastAPI validate it against the ``response_model`` in one more
    thread-pool hop after the route's own (and then serialize it): for a model the route just built, that hop is
    pure cost (≈ 5 % of the CPU of a read, docs/scale.md). Returning a ``Response`` skips it. The bytes are the
    same: FastAPI serializes with pydantic by alias too. The route keeps its ``response_model=`` for the OpenAPI
    document.
    """
    return Response(model.__pydantic_serializer__.to_json(model, by_alias=True), media_type="application/json")


def page_of(model: type[T], rows: Sequence[object], *, total: int, limit: int, offset: int) -> Response:
    """A page of ``model`` built from ORM rows (``model`` must be an :class:`Output`), as :func:`json_of`."""
    # Page[model] is parametrised at run time (pydantic builds that model's schema), which mypy cannot follow
    page = Page[model](items=[model.model_validate(r) for r in rows],  # type: ignore[valid-type, attr-defined]
                       total=total, limit=limit, offset=offset)
    return json_of(page)


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["no such enterprise"])
    field: str | None = Field(None, examples=["uscc"])


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, unknown or expired bearer token"},
    403: {"model": ErrorBody, "description": "the caller's role may not do this"},
    404: {"model": ErrorBody, "description": "not found, or outside the caller's scope"},
    422: {"model": ErrorBody, "description": "invalid input; `field` names the first offending member"},
}
