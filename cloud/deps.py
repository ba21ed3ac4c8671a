"""Request-scoped dependencies every domain uses, as ``Annotated`` aliases (``DbSession``, ``Now``, ``Settings``,
``Limit``/``Offset`` paging parameters).

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread pool, and each such hop
costs more CPU than these functions do. None of them blocks: opening a session does no I/O (the connection is
taken at the first query, in the endpoint's thread), and closing one is done in a worker thread when it has to
talk to a database server (see :meth:`~cloud.db.engine.Database.close_session`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from cloud.settings import CloudSettings

_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One session per request; writes commit explicitly, anything left uncommitted is rolled back."""
    database = request.app.state.database
    session = database.session(write=request.method not in _READ_ONLY_METHODS)
    try:
        yield session
    finally:
        await database.close_session(session)


async def get_now(request: Request) -> datetime:
    """The request's time, read once (tests replace ``app.state.clock``)."""
    return request.app.state.clock()


async def get_settings(request: Request) -> CloudSettings:
    return request.app.state.settings


async def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


DbSession = Annotated[Session, Depends(get_db, scope="function")]
Now = Annotated[datetime, Depends(get_now)]
Settings = Annotated[CloudSettings, Depends(get_settings)]
ClientAddress = Annotated[str, Depends(client_address)]
Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
# Bounded: a database offset is a signed 64-bit integer; past it is the caller's error (422), not ours (500).
Offset = Annotated[int, Query(ge=0, le=2**62)]
