"""The HTTP backend (httpx): POST a batch, the response body is the ack; poll for downlink commands.

``POST /api/v1/gateways/{gateway}/batches`` answers with the ack after the cloud has committed the batch, so
a batch's future is already resolved when ``submit`` returns (one batch at a time). Over HTTPS the TLS
connection authenticates the cloud, so the ack needs no signature; the gateway authenticates with its client
certificate or a device token. Commands come from ``GET …/commands?after={last accepted down counter}``, with
``&clock=untrusted`` while the gateway does not trust its wall clock: then it refuses every command but ``time`` and
can let no one in, so it asks the cloud for a time command at once rather than when the cloud's interval is up.
Each poll also carries a fresh ``time_request`` (uplink spec §5.5), which a time command in the answer echoes: the
gateway then knows it was signed within the poll's round trip.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from pathlib import Path

import httpx
import structlog

from edge.tasks import OwnedTask
from edge.uplink.backoff import Backoff
from edge.uplink.base import Batch, Uplink
from edge.uplink.config import HttpConfig, TlsConfig
from edge.uplink.errors import UplinkError, UplinkRejected, UplinkUnavailable
from protocols import topics
from protocols.commands import decode_poll
from protocols.errors import EnvelopeError
from protocols.uplink import Ack, decode_ack
from protocols.uplink.envelope import CONTENT_TYPE

log = structlog.get_logger(__name__)

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


class HttpUplink(Uplink):
    """Uplink over HTTPS. ``last_down_counter`` gives the last accepted down-channel counter (for polling);
    ``clock_trusted`` whether the gateway trusts its clock (None: not known, never asks for the time);
    ``time_request`` makes the time request each poll carries (None: none)."""

    def __init__(self, config: HttpConfig, *, gateway: str, last_down_counter: Callable[[], int],
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock_trusted: Callable[[], bool] | None = None,
                 time_request: Callable[[], str] | None = None) -> None:
        super().__init__(topics.check_gateway_id(gateway))
        self._time_request = time_request
        self.config = config
        self._last_down_counter = last_down_counter
        self._clock_trusted = clock_trusted
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._poller = OwnedTask(f"http-commands-{self.gateway}")
        self._batches_path = f"/api/v1/gateways/{gateway}/batches"
        self._commands_path = f"/api/v1/gateways/{gateway}/commands"

    async def start(self) -> None:
        if self._client is not None:
            raise UplinkError("the HTTP uplink is already started")
        if self.config.plaintext:
            log.warning("uplink_plaintext", backend="http", base_url=self.config.base_url,
                        detail="insecure = true: batches and the device token travel unencrypted")
        headers = {}
        if self.config.token_file is not None:
            headers["Authorization"] = f"Bearer {_read_token(self.config.token_file)}"
        self._client = httpx.AsyncClient(base_url=self.config.base_url, headers=headers,
                                         timeout=self.config.timeout_s, verify=_ssl_context(self.config.tls),
                                         transport=self._transport)
        self._connected.set()  # HTTP has no standing connection: each request succeeds or raises
        self._poller.start(self._poll_commands)

    async def close(self) -> None:
        await self._poller.stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._connected.clear()

    async def submit(self, batch: Batch) -> asyncio.Future[Ack]:
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        future.set_result(await self._post(batch))
        return future

    async def _post(self, batch: Batch) -> Ack:
        if self._client is None:
            raise UplinkUnavailable("the HTTP uplink is not started")
        headers = {"Content-Type": CONTENT_TYPE}
        if batch.compressed:
            headers["Content-Encoding"] = "gzip"
        try:
            response = await self._client.post(self._batches_path, content=batch.payload, headers=headers)
        except httpx.HTTPError as exc:
            raise UplinkUnavailable(f"POST batch: {exc!r}") from exc
        if response.status_code != 200:
            message = (f"POST batch {batch.first_seq}..{batch.last_seq}: HTTP {response.status_code} "
                       f"{response.text[:200]}")
            if response.status_code in RETRYABLE:
                raise UplinkUnavailable(message)
            raise UplinkRejected(message, status=response.status_code)
        try:
            ack = decode_ack(response.content)
        except EnvelopeError as exc:
            raise UplinkError(f"the cloud answered with a malformed ack: {exc}", code="bad_ack") from exc
        if ack.gateway != self.gateway or ack.epoch != batch.epoch:
            raise UplinkError(f"ack for {ack.gateway} epoch {ack.epoch}, not ours", code="bad_ack")
        self._ack_received(ack)
        return ack

    async def publish_status(self, online: bool) -> None:
        """Nothing to publish: over HTTP the cloud sees a gateway by its requests."""

    async def _poll_commands(self) -> None:
        assert self._client is not None
        backoff = Backoff(self.config.poll_interval_s, max(self.config.poll_interval_s, 300.0))
        while True:
            try:
                response = await self._client.get(self._commands_path, params=self._poll_params())
                if response.status_code != 200:
                    raise UplinkError(f"GET commands: HTTP {response.status_code}")
                for command in decode_poll(response.content):
                    await self._commands.put(command)
                # Poll again only once these are verified, so the next "after" already counts them.
                await self._commands.join()
            except (httpx.HTTPError, UplinkError, EnvelopeError) as exc:
                log.warning("http_command_poll_failed", gateway=self.gateway, error=str(exc))
                await asyncio.sleep(backoff.next_delay())
            else:
                backoff.reset()
                await asyncio.sleep(self.config.poll_interval_s)


    def _poll_params(self) -> dict[str, str | int]:
        params: dict[str, str | int] = {"after": self._last_down_counter()}
        if self._clock_trusted is not None and not self._clock_trusted():
            params["clock"] = "untrusted"  # protocols/uplink.md §7: the cloud answers with a time command at once
        if self._time_request is not None:
            params["time_request"] = self._time_request()  # made last: the round trip starts now
        return params


def _ssl_context(tls: TlsConfig | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=None if tls is None or tls.ca_file is None else str(tls.ca_file))
    if tls is not None and tls.cert_file is not None and tls.key_file is not None:
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    return context


def _read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UplinkError(f"cannot read the device token {path}: {exc.strerror or exc}", field="token_file") from exc
    if not token:
        raise UplinkError(f"the device token file {path} is empty", field="token_file")
    return token
