"""Where the phone gets the worker's permit token: a token file today, the cloud later, a cache for offline.

The seam for the cloud: implement :class:`TokenSource` (``async token_for(lock_id) -> bytes``, raising
:class:`TokenUnavailable` when offline or when there is no approved permit) with the cloud's token endpoint
once it exists, and wrap it in :class:`OnlineFirst` with a :class:`TokenCache`: the phone then fetches
when it can and falls back to the token it cached earlier when the hatch has no network.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from fwsim.phone.errors import TokenUnavailable
from protocols.errors import ProtocolError
from protocols.token import MAX_TOKEN_BYTES, PermitClaims, decode_token, token_hash
from safegrid.files import write_private_file


class TokenSource(Protocol):
    async def token_for(self, lock_id: bytes) -> bytes:
        """A permit token naming ``lock_id``; TokenUnavailable when there is none."""
        ...


def read_token_file(path: Path) -> bytes:
    """A token file holds the token's bytes, raw or as hex text."""
    data = Path(path).read_bytes()
    if len(data) > 2 * MAX_TOKEN_BYTES + 2:
        raise TokenUnavailable(f"{path}: too large for a permit token")
    try:
        return bytes.fromhex(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return data


def _claims(token: bytes) -> PermitClaims:
    try:
        return decode_token(token)
    except ProtocolError as exc:
        raise TokenUnavailable(f"not a permit token: {exc}") from exc


class TokenFile:
    """One token from a file (what the issue calls "a token file until the cloud endpoint exists")."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    async def token_for(self, lock_id: bytes) -> bytes:
        try:
            token = read_token_file(self.path)
        except OSError as exc:
            raise TokenUnavailable(f"cannot read the token file: {exc}") from exc
        if lock_id not in _claims(token).lock_ids:
            raise TokenUnavailable(f"the token in {self.path} does not name lock {lock_id.hex()}")
        return token


class TokenCache:
    """Tokens fetched earlier, one file each (0600), picked by lock id and still-valid time window."""

    def __init__(self, directory: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory)
        self.clock = clock

    def store(self, token: bytes) -> None:
        _claims(token)
        self.directory.mkdir(parents=True, exist_ok=True)
        write_private_file(self.directory / f"{token_hash(token).hex()[:32]}.token", token)

    async def token_for(self, lock_id: bytes) -> bytes:
        now = self.clock()
        best: tuple[int, bytes] | None = None
        for path in sorted(self.directory.glob("*.token")) if self.directory.is_dir() else ():
            token = path.read_bytes()
            try:
                claims = decode_token(token)
            except ProtocolError:
                continue
            if lock_id in claims.lock_ids and now < min(claims.exp, claims.window_end) and (
                    best is None or claims.iat > best[0]):
                best = (claims.iat, token)
        if best is None:
            raise TokenUnavailable(f"no cached token for lock {lock_id.hex()}")
        return best[1]


class OnlineFirst:
    """Fetch from ``online`` (cached on success); when that is unavailable, use the cache."""

    def __init__(self, online: TokenSource, cache: TokenCache) -> None:
        self.online = online
        self.cache = cache

    async def token_for(self, lock_id: bytes) -> bytes:
        try:
            token = await self.online.token_for(lock_id)
        except TokenUnavailable:
            return await self.cache.token_for(lock_id)
        self.cache.store(token)
        return token
