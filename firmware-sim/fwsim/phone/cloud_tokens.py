"""The phone's permit token from the cloud: the worker's own endpoint, as the signed-in worker.

    tokens = await CloudTokens.login(base_url, username, password)          # or CloudTokens(base_url, bearer)
    phone = Phone(central, worker_key, OnlineFirst(tokens, TokenCache(cache_dir)))

``GET /api/v1/workers/me/permits/{permit}/token`` answers only for an issued permit that names the worker, with a
token bound to the phone key the worker registered. Without a permit id the phone looks through the approved
permits it can see, newest first, for one whose token names the padlock. Anything that stops the fetch — no
network, a refusal, no such permit — is :class:`TokenUnavailable`, so :class:`~fwsim.phone.tokens.OnlineFirst`
falls back to the token cached earlier (the hatch often has no network).
"""

from __future__ import annotations

from typing import Any

import httpx

from fwsim.phone.errors import TokenUnavailable
from protocols.errors import ProtocolError
from protocols.token import decode_token
from protocols.uplink.fields import b64url_decode

LOGIN_PATH = "/api/v1/auth/login"
PERMITS_PATH = "/api/v1/permits"
TOKEN_PATH = "/api/v1/workers/me/permits/{permit_id}/token"
DEFAULT_TIMEOUT_S = 10.0
SEARCH_LIMIT = 20  # approved permits looked through for one naming the lock


class CloudTokens:
    """A :class:`~fwsim.phone.tokens.TokenSource` over the cloud API with the worker's bearer token."""

    def __init__(self, base_url: str, access_token: str, *, permit_id: int | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url
        self.permit_id = permit_id
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._timeout_s = timeout_s
        self._transport = transport

    @classmethod
    async def login(cls, base_url: str, username: str, password: str, **kw: Any) -> CloudTokens:
        """Sign in as the worker; TokenUnavailable when the cloud cannot be reached or refuses."""
        async with httpx.AsyncClient(base_url=base_url, timeout=kw.get("timeout_s", DEFAULT_TIMEOUT_S),
                                     transport=kw.get("transport")) as client:
            try:
                response = await client.post(LOGIN_PATH, json={"username": username, "password": password})
            except httpx.HTTPError as exc:
                raise TokenUnavailable(f"cannot reach the cloud to sign in: {exc!r}") from exc
        if response.status_code != 200:
            raise TokenUnavailable(f"the cloud refused the sign-in: HTTP {response.status_code}")
        return cls(base_url, response.json()["access_token"], **kw)

    async def token_for(self, lock_id: bytes) -> bytes:
        async with httpx.AsyncClient(base_url=self.base_url, headers=self._headers, timeout=self._timeout_s,
                                     transport=self._transport) as client:
            try:
                if self.permit_id is not None:
                    return await self._fetch(client, self.permit_id, lock_id)
                return await self._search(client, lock_id)
            except httpx.HTTPError as exc:
                raise TokenUnavailable(f"cannot reach the cloud: {exc!r}") from exc

    async def _search(self, client: httpx.AsyncClient, lock_id: bytes) -> bytes:
        response = await client.get(PERMITS_PATH, params={"status": "approved", "limit": SEARCH_LIMIT})
        if response.status_code != 200:
            raise TokenUnavailable(f"the cloud refused the permit list: HTTP {response.status_code}")
        for permit in response.json()["items"]:
            try:
                return await self._fetch(client, int(permit["id"]), lock_id)
            except TokenUnavailable:
                continue  # not ours, or not for this padlock
        raise TokenUnavailable(f"no approved permit of yours names padlock {lock_id.hex()}")

    async def _fetch(self, client: httpx.AsyncClient, permit_id: int, lock_id: bytes) -> bytes:
        response = await client.get(TOKEN_PATH.format(permit_id=permit_id))
        if response.status_code != 200:
            raise TokenUnavailable(f"no token of permit {permit_id} for you: HTTP {response.status_code}")
        try:
            token = b64url_decode(response.json()["token"], field="token")
            claims = decode_token(token)
        except (KeyError, ValueError, ProtocolError) as exc:
            raise TokenUnavailable(f"the cloud sent something that is not a permit token: {exc}") from exc
        if lock_id not in claims.lock_ids:
            raise TokenUnavailable(f"the token of permit {permit_id} does not name padlock {lock_id.hex()}")
        return token
