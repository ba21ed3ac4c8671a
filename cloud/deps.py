"""Request-scoped dependencies every domain uses, as ``Annotated`` aliases (``DbSession``, ``Now``, ``Settings``,
``Limit``/``Offset`` paging parameters)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from cloud.settings import CloudSettings

_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; writes commit explicitly, anything left uncommitted is rolled back."""
    with request.app.state.database.session(write=request.method not in _READ_ONLY_METHODS) as session:
        yield session


def get_now(request: Request) -> datetime:
    """The request's time, read once (tests replace ``app.state.clock``)."""
    return request.app.state.clock()


def get_settings(request: Request) -> CloudSettings:
    return request.app.state.settings


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


DbSession = Annotated[Session, Depends(get_db, scope="function")]
Now = Annotated[datetime, Depends(get_now)]
Settings = Annotated[CloudSettings, Depends(get_settings)]
ClientAddress = Annotated[str, Depends(client_address)]
Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Offset = Annotated[int, Query(ge=0)]
